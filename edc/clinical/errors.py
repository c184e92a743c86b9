"""The one exception every calculator raises for bad input."""


class CalculatorInputError(ValueError):
    """Bad input to a calculator. ``key`` names the offending input key (or ``None``)."""

    def __init__(self, key: str | None, message: str):
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)
