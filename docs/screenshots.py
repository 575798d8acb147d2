"""Make the README's notebook screenshots: Keras' fit in JupyterLab, drawn by trainbar's callback
(the bars and the training view) and by Keras' own progress bar, in headless Chromium.

    python3 docs/screenshots.py      # writes docs/images/notebook-*.png

Needs the test extras (`.[jupyter-test,keras,torch]`) and Debian's chromium, as the browser tests do.
"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import nbclient  # noqa: E402
import nbformat  # noqa: E402
from jupyterrun import LabServer, hermetic_env, launch_chromium, notebook  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from test_notebook_integrations import SETUP  # noqa: E402

FIT = "keras_model.fit(x, y, epochs=4, batch_size=8, validation_split=0.25{})"
CASES = {
    "notebook-trainbar.png": "from trainbar.keras import TrainbarCallback\n" + FIT.format(", callbacks=[TrainbarCallback()]"),
    "notebook-keras-default.png": FIT.format(""),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        env = hermetic_env(os.path.join(tmp, "home"))
        for name, code in CASES.items():
            nb = notebook(SETUP, code)
            nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute(env=env)
            nbformat.write(nb, os.path.join(root, name.replace(".png", ".ipynb")))
        server = LabServer(root, env, os.path.join(tmp, "server.log")).start()
        try:
            with sync_playwright() as playwright:
                context = launch_chromium(playwright, os.path.join(tmp, "profile"))
                for name in CASES:
                    page = context.new_page()
                    page.set_viewport_size({"width": 1100, "height": 1200})
                    page.goto(f"{server.url}/lab/tree/{name.replace('.png', '.ipynb')}?token={server.token}&reset")
                    output = page.wait_for_selector(".jp-CodeCell:nth-child(2) .jp-OutputArea", timeout=120_000)
                    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
                    output.screenshot(path=os.path.join(HERE, "images", name))
                    page.close()
                context.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
