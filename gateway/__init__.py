"""imagegate: an OpenAI-compatible gateway from chat messages to images."""
