"""The mock interview's defaults, in a module light enough for the CLI to read its options from
at start-up (the core that uses them imports pydantic and SQLite)."""

DEFAULT_QUESTIONS = 5
DEFAULT_PER_QUESTION = 300.0  # seconds: a conceptual question in a real interview gets 3-5 minutes
DEFAULT_FOLLOW_UPS = 1  # per question: one probe of the biggest gap, as most interviewers do
MAX_PER_DAY = 200  # questions a day a plan takes: more is a slip
