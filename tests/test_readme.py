"""The README's Python session is executed, so what it shows stays true."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_session_runs() -> None:
    # a code fence ends an example's expected output, like a blank line
    text = "\n".join("" if ln.startswith("```") else ln for ln in README.read_text().splitlines())
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "README.md", str(README), 0)
    assert len(test.examples) >= 10
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0
