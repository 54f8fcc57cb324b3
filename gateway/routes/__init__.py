"""HTTP handlers: the only layer that knows litestar."""
