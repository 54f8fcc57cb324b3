"""Prompt rewriting through an LLM (fast or reasoning mode)."""

from gateway.rewrite.reply import Rewrite
from gateway.rewrite.rewriter import PromptRewriter, build_rewriter

__all__ = ["PromptRewriter", "Rewrite", "build_rewriter"]
