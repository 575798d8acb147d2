"""tqdm's import paths have trainbar twins: changing the package name is the whole migration."""

import io
import subprocess
import sys

import trainbar


def test_auto_and_notebook_give_the_drop_in_under_every_name_tqdm_uses():
    from trainbar import auto, notebook

    assert auto.tqdm is trainbar.tqdm and auto.trange is trainbar.trange
    assert notebook.tqdm is trainbar.tqdm and notebook.tqdm_notebook is trainbar.tqdm
    assert notebook.trange is trainbar.trange and notebook.tnrange is trainbar.trange


def test_notebook_names_draw_a_bar_that_counts():
    from trainbar.notebook import tnrange, tqdm_notebook

    assert list(tnrange(3, file=io.StringIO())) == [0, 1, 2]
    bar = tqdm_notebook(total=2, file=io.StringIO())
    bar.update(2)
    bar.close()
    assert bar.n == 2


def test_importing_them_pulls_in_no_notebook_machinery():
    code = "import sys, trainbar.auto, trainbar.notebook; print(sorted(m for m in ('IPython', 'ipywidgets', 'tqdm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
