"""The Keras, Lightning and Hugging Face integrations in a real Jupyter kernel, run by nbclient.

One notebook, one kernel: a cell that imports the frameworks and builds tiny models, then one cell
per framework that trains and evaluates with its framework's defaults (Keras' verbose=1,
Lightning's and transformers' own bars left to be replaced). Every IOPub message each cell
produced is kept with its arrival time, and the notebook is saved and read back as a user saves it.
"""

import re
import time

import pytest
from frameworks import need_installed

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
for module, extra in (("keras", "keras"), ("lightning", "lightning"), ("transformers", "transformers"),
                      ("accelerate", "transformers")):  # fmt: skip
    need_installed(module, extra)  # the kernel imports them; this process need not

from jupyterrun import Kernel, Message, Run, hermetic_env, notebook  # noqa: E402

pytestmark = pytest.mark.frameworks

DISPLAYS = ("display_data", "update_display_data")
MAX_UPDATES_PER_SECOND = 5  # the notebook channel redraws about 4 times a second; one more for a final frame
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SETUP = """
import os
os.environ["KERAS_BACKEND"] = "torch"
os.environ["HF_HUB_OFFLINE"] = "1"
import keras, numpy as np, torch, transformers, lightning.pytorch as L
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
x, y = rng.random((320, 8), dtype="float32"), rng.random((320, 1), dtype="float32")
keras_model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
keras_model.compile(optimizer="sgd", loss="mse", metrics=["mae"])

class Regression(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    def _loss(self, batch):
        return torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True)
        return loss
    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch), prog_bar=True)
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)

def loader(samples):
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(samples, 8, generator=g), torch.randn(samples, 1, generator=g)),
                      batch_size=8)

class Tokens(torch.utils.data.Dataset):
    def __init__(self, size):
        self.size = size
    def __len__(self):
        return self.size
    def __getitem__(self, i):
        ids = torch.randint(0, 64, (16,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": ids.clone()}

gpt2 = transformers.GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=1, n_head=2,
                               bos_token_id=0, eos_token_id=0)
"""

KERAS = """
from trainbar.keras import TrainbarCallback
keras_model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, callbacks=[TrainbarCallback()])
keras_model.evaluate(x, y, batch_size=32, callbacks=[TrainbarCallback()])
"""

LIGHTNING = """
from trainbar.lightning import TrainbarProgressBar
trainer = L.Trainer(accelerator="cpu", max_epochs=2, logger=False, enable_checkpointing=False,
                    enable_model_summary=False, callbacks=[TrainbarProgressBar()])
module = Regression()
trainer.fit(module, loader(256), loader(32))
trainer.validate(module, loader(32), verbose=False)  # verbose=True adds a results table (not a bar)
"""

TRANSFORMERS = """
from trainbar.transformers import TrainbarCallback
args = transformers.TrainingArguments(output_dir=OUTPUT_DIR, max_steps=24, per_device_train_batch_size=4,
                                      per_device_eval_batch_size=8, logging_steps=12, report_to=[],
                                      save_strategy="no", use_cpu=True)
trainer = transformers.Trainer(model=transformers.GPT2LMHeadModel(gpt2), args=args, train_dataset=Tokens(64),
                               eval_dataset=Tokens(32), callbacks=[TrainbarCallback()])
trainer.train()
trainer.evaluate()
"""

CELLS = {"keras": KERAS, "lightning": LIGHTNING, "transformers": TRANSFORMERS}
BATCHES = {"keras": 2 * (30 + 10) + 10, "lightning": 2 + 2 * (32 + 4) + 4, "transformers": 24 + 4}  # each cell's batches, all loops

# Each cell's saved outputs, in order: (status, description, metric names it must show) per row.
FINAL_FRAMES = {
    "keras": [
        [("done", "epochs", {"loss", "mae", "val_loss", "val_mae"}),
         ("done", "epoch 1/2", {"loss", "mae", "val_loss"}),
         ("done", "epoch 2/2", {"loss", "mae", "val_loss"})],
        [("done", "evaluate", {"loss", "mae"})],
    ],
    "lightning": [
        [("done", "epochs", {"train_loss", "val_loss"}),
         ("done", "epoch 0", {"train_loss", "val_loss"}),
         ("done", "epoch 1", {"train_loss", "val_loss"})],
        [("done", "validate", {"val_loss"})],
    ],
    "transformers": [
        [("done", "train", {"loss", "train_loss"})],
        [("done", "evaluate", {"eval_loss"})],
    ],
}  # fmt: skip

# What the frameworks' own bars write to the streams: Keras' progbar, tqdm (Lightning's, HF's). Their
# notebook bars (Lightning's Rich bar, HF's <progress> one) are displays: every display must be ours.
OWN_BARS = re.compile(r"━|\d+/\d+ \[|it/s|s/it|Epoch \d|Sanity Checking|Validation DataLoader")
TERMINAL_CONTROL = re.compile(r"[\r\b\x1b]")


def frame_rows(html: str) -> list:
    """(status, description, metric names) for each row of a trainbar frame."""
    rows = []
    for chunk in html.split('<div class="trainbar-desc ')[1:]:
        status, desc = re.match(r'trainbar-(\w+)"[^>]*>([^<]*)<', chunk).groups()
        rows.append((status, desc, set(re.findall(r'class="trainbar-metric"[^>]*>([^=<]+)=', chunk))))
    return rows


class RecordingClient(nbclient.NotebookClient):
    """nbclient as a front end runs it, keeping each IOPub message with its arrival time."""

    def __init__(self, nb, **options) -> None:
        super().__init__(nb, **options)
        self.messages: dict = {}

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] not in ("status", "execute_input"):
            self.messages.setdefault(cell_index, []).append(Message(time.monotonic(), msg["msg_type"], msg["content"]))
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """(saved notebook, {framework: Run}): the notebook run once, saved to disk and read back."""
    tmp = tmp_path_factory.mktemp("integrations")
    nb = notebook(SETUP + f"OUTPUT_DIR = {str(tmp / 'hf')!r}\n", *CELLS.values())
    env = hermetic_env(str(tmp))
    env.setdefault("OMP_NUM_THREADS", "1")  # a small CI machine: torch's threads would fight the kernel's
    with Kernel(env) as kernel:
        client = RecordingClient(nb, km=kernel.manager, timeout=300, allow_errors=False)
        started = time.monotonic()
        client.execute()
        print(f"\nnotebook with three frameworks: {time.monotonic() - started:.1f}s")
    path = tmp / "integrations.ipynb"
    nbformat.write(nb, str(path))
    runs = {}
    for index, name in enumerate(CELLS, start=1):
        messages = client.messages[index]
        runs[name] = Run(messages, messages[0].t)
        print(f"{name}: {runs[name].summary()}")
    return nbformat.read(str(path), as_version=4), runs


def cell_outputs(executed, framework: str) -> list:
    saved, _ = executed
    return saved.cells[1 + list(CELLS).index(framework)].outputs


@pytest.mark.parametrize("framework", CELLS)
def test_bars_arrive_as_html_and_plain_text_displays_without_widgets(executed, framework):
    """The bars come as display_data then update_display_data bundles of text/html and text/plain, no comms."""
    run = executed[1][framework]
    assert run.count("display_data") == len(FINAL_FRAMES[framework])
    assert run.count("update_display_data") >= 1
    assert run.count("comm_open", "comm_msg") == 0
    for message in run.of(*DISPLAYS):
        assert set(message.content["data"]) == {"text/html", "text/plain"}
        assert WIDGET_MIME not in message.content["data"]
        assert message.content["data"]["text/html"].startswith('<div class="trainbar ')


@pytest.mark.parametrize("framework", CELLS)
def test_the_saved_notebook_shows_the_finished_bars_with_their_metrics(executed, framework):
    """Each saved display is its bars' final state: every row done, carrying the loss and the metrics."""
    displays = [o for o in cell_outputs(executed, framework) if o.output_type == "display_data"]
    assert len(displays) == len(FINAL_FRAMES[framework])
    for output, expected in zip(displays, FINAL_FRAMES[framework]):
        rows = frame_rows(output.data["text/html"])
        assert [(status, desc) for status, desc, _ in rows] == [(status, desc) for status, desc, _ in expected]
        for (_, desc, metrics), (_, _, wanted) in zip(rows, expected):
            assert wanted <= metrics, f"{desc}: {metrics}"
        first = output.data["text/plain"].splitlines()[0]
        assert first.startswith(f"{expected[0][1]}: 100%") and "loss=" in first


@pytest.mark.parametrize("framework", CELLS)
def test_the_framework_s_own_bar_never_draws(executed, framework):
    """No Keras progbar, tqdm, Rich or HF notebook bar: no bar text or \\r frames in streams, only our displays."""
    outputs = cell_outputs(executed, framework)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert not OWN_BARS.search(text), text
    assert not TERMINAL_CONTROL.search(text), repr(text)
    assert all(o.data["text/html"].startswith('<div class="trainbar ') for o in outputs if o.output_type == "display_data")
    assert [o for o in outputs if o.output_type == "error"] == []


@pytest.mark.parametrize("framework", CELLS)
def test_display_messages_stay_bounded_not_one_per_batch(executed, framework):
    """Dozens of batches cost a few display messages: each output redrawn at most ~4 times a second."""
    run = executed[1][framework]
    displays = run.count(*DISPLAYS)
    for display_id in {m.content["transient"]["display_id"] for m in run.of(*DISPLAYS)}:
        one = Run([m for m in run.of(*DISPLAYS) if m.content["transient"]["display_id"] == display_id], run.started)
        assert one.peak_rate(DISPLAYS) <= MAX_UPDATES_PER_SECOND
    assert displays <= run.duration * 4.5 + 3 * len(FINAL_FRAMES[framework])
    assert displays < BATCHES[framework] or run.duration * 4.5 > BATCHES[framework]  # a slow machine may tie


def test_transformers_logs_are_lines_in_the_cell(executed):
    """The Trainer's logs become 'step N/M key=value' lines in the cell, not dicts printed."""
    outputs = cell_outputs(executed, "transformers")
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    steps = [line.split(" ")[1] for line in text.splitlines() if line.startswith("step ")]
    assert steps == ["12/24", "24/24", "24/24", "24/24"]  # two logs, the summary, the evaluation
    assert "{'loss'" not in text and "{'eval_loss'" not in text
