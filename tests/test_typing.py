"""What a type checker sees of trainbar in users' code: real types, not Any."""

import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(shutil.which("mypy") is None and not sys.modules.get("mypy"), reason="needs mypy")

USER_CODE = textwrap.dedent(
    """
    import trainbar

    b = trainbar.bar(range(3), desc="x")
    for item in b:
        reveal_type(item)
    b.updte(1)
    with trainbar.bar(total=3) as c:
        reveal_type(c)
    """
)


def test_a_typo_on_a_bar_is_caught_and_items_keep_their_type(tmp_path):
    """`b.updte(1)` is an error under mypy --strict; iterating a bar over ints gives ints."""
    path = tmp_path / "user.py"
    path.write_text(USER_CODE)
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert '"Bar[int]" has no attribute "updte"' in result.stdout, result.stdout + result.stderr
    assert 'Revealed type is "int"' in result.stdout
    assert 'Revealed type is "trainbar.core.bar.Bar[Any]"' in result.stdout
