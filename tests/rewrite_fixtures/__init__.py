"""Scripted LLM answers and a local chat-completions server for the rewrite tests."""
