"""The desk itself: every rule and every write. Never imports Textual."""
