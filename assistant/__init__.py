"""Citation-grounded follow-up question assistant for clinicians."""

__version__ = "0.1.0"
