"""The LangGraph change and diagnosis agent (filled by a later issue)."""
