"""The baseline for start-up time: a minimal Typer app with a few commands and default settings."""

import typer

app = typer.Typer()


@app.command()
def practice(question: str = "", topic: str = "") -> None:
    """Practise one question."""


@app.command()
def history(limit: int = 20) -> None:
    """List past attempts."""


@app.command()
def report(session: str = "latest", fmt: str = "md") -> None:
    """Export a report."""


if __name__ == "__main__":
    app()
