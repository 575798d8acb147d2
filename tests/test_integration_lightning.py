"""trainbar.lightning: a real Lightning Trainer on the CPU, in a log, under DDP and in a terminal."""

import io
import re

import pytest
from frameworks import TERMINAL_CONTROL, need, python, run_logged, script_environment, write_script
from ptyrun import child_environment, run_in_pty

torch = need("torch", "lightning")
L = need("lightning.pytorch", "lightning")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from trainbar.lightning import TrainbarProgressBar  # noqa: E402

pytestmark = [pytest.mark.frameworks, pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")]


class Regression(L.LightningModule):
    """Linear 8-16-1; logs train_loss and val_loss with prog_bar=True."""

    def __init__(self, on_step=None, fail_at=None):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        self.on_step = on_step
        self.fail_at = fail_at

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, batch_idx):
        if batch_idx == self.fail_at:
            raise RuntimeError("diverged")
        if self.on_step is not None:
            self.on_step()
        loss = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        if self.on_step is not None:
            self.on_step()
        self.log("val_loss", self._loss(batch), prog_bar=True)

    def test_step(self, batch, batch_idx):
        self.log("test_loss", self._loss(batch), prog_bar=True)

    def predict_step(self, batch, batch_idx):
        return self.net(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loader(samples: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    dataset = TensorDataset(torch.randn(samples, 8, generator=generator), torch.randn(samples, 1, generator=generator))
    return DataLoader(dataset, batch_size=32)


def trainer(bar, **options):
    options = {"max_epochs": 2, **options}
    return L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_model_summary=False,
                     callbacks=[bar], **options)  # fmt: skip


def fit_lines(module=None, bar_options=None, **trainer_options) -> list:
    stream = io.StringIO()
    bar = TrainbarProgressBar(file=stream, **(bar_options or {}))
    trainer(bar, **trainer_options).fit(module or Regression(), loader(256), loader(64))
    return stream.getvalue().splitlines()


def test_fit_shows_an_epoch_bar_and_a_step_bar_per_epoch_with_prog_bar_metrics(manual):
    """fit draws the epochs bar and a step bar per epoch ending with train_loss."""
    lines = fit_lines()
    assert lines[0].startswith("epochs: 0% 0/2")
    finished = [line for line in lines if line.startswith("epochs > epoch ") and line.endswith("done")]
    assert [line.split(":")[0] for line in finished] == ["epochs > epoch 0", "epochs > epoch 1"]
    assert all(" 100% 8/8 " in line and " train_loss=" in line for line in finished)
    assert lines[-1].startswith("epochs: 100% 2/2") and lines[-1].endswith("done")


def test_validation_metrics_join_the_line_of_their_epoch(manual):
    """Each epoch's final line carries the val_loss logged with prog_bar=True."""
    finished = [line for line in fit_lines() if line.startswith("epochs > epoch ") and line.endswith("done")]
    assert len(finished) == 2 and all(" val_loss=" in line for line in finished)


def test_it_replaces_lightning_s_own_bar(manual, capfd):
    """Lightning adds neither its TQDM nor its Rich bar, and nothing reaches stdout."""
    bar = TrainbarProgressBar(file=io.StringIO())
    fitted = trainer(bar)
    fitted.fit(Regression(), loader(64), loader(64))
    assert fitted.progress_bar_callback is bar
    assert [type(cb).__name__ for cb in fitted.callbacks if "ProgressBar" in type(cb).__name__] == ["TrainbarProgressBar"]
    assert capfd.readouterr().out == ""


def test_the_sanity_check_has_a_bar(manual):
    """The sanity check's validation batches get a 'sanity check' bar (shown once it lasts 1 s)."""
    clock, _ = manual
    lines = fit_lines(Regression(on_step=lambda: clock.advance(1.0)), max_epochs=1)
    assert any(line.startswith("sanity check: 100% 2/2") for line in lines), lines


def test_validate_test_and_predict_have_bars(manual):
    """trainer.validate, test and predict each draw a bar that stays, with their metrics."""
    stream = io.StringIO()
    run = trainer(TrainbarProgressBar(file=stream))
    module = Regression()
    run.validate(module, loader(64))
    run.test(module, loader(64))
    run.predict(module, loader(64))
    done = [line for line in stream.getvalue().splitlines() if line.endswith("done")]
    assert [line.split(":")[0] for line in done] == ["validate", "test", "predict"]
    assert " val_loss=" in done[0] and " test_loss=" in done[1]
    assert all(" 100% 2/2 " in line for line in done)


def test_metrics_are_read_on_a_timer_not_per_batch(manual):
    """While the clock stands still, 8 batches read Lightning's metrics once, plus at each epoch's end."""
    reads = []

    class Counting(TrainbarProgressBar):
        def get_metrics(self, trainer, pl_module):
            reads.append(trainer.global_step)
            return super().get_metrics(trainer, pl_module)

    stream = io.StringIO()
    trainer(Counting(file=stream), max_epochs=1, limit_val_batches=0).fit(Regression(), loader(256))
    assert len(reads) == 2  # the first batch, and the epoch's end


def test_metrics_interval_zero_reads_every_batch(manual):
    """metrics_interval=0 reads the metrics after every batch, for those who want that."""
    reads = []

    class Counting(TrainbarProgressBar):
        def get_metrics(self, trainer, pl_module):
            reads.append(trainer.global_step)
            return super().get_metrics(trainer, pl_module)

    bar = Counting(file=io.StringIO(), metrics_interval=0)
    trainer(bar, max_epochs=1, limit_val_batches=0).fit(Regression(), loader(256))
    assert len(reads) == 8 + 1


def test_an_exception_in_training_closes_the_bars_as_interrupted(manual):
    """A training step that raises leaves the step bar where it stopped, marked interrupted."""
    stream = io.StringIO()
    with pytest.raises(RuntimeError, match="diverged"):
        trainer(TrainbarProgressBar(file=stream)).fit(Regression(fail_at=3), loader(256))
    lines = stream.getvalue().splitlines()
    assert lines[-2].startswith("epochs > epoch 0: 37% 3/8") and lines[-2].endswith("interrupted")
    assert lines[-1].startswith("epochs: 0% 0/2") and lines[-1].endswith("interrupted")


def test_a_disabled_bar_draws_nothing(manual):
    """disable() (what Lightning's tuner calls while it searches) leaves the stream empty."""
    bar = TrainbarProgressBar(file=io.StringIO())
    bar.disable()
    run = trainer(bar)
    run.fit(Regression(), loader(64), loader(64))
    assert bar._bars.file.getvalue() == ""
    assert bar.is_disabled


def test_setup_on_another_rank_keeps_the_bar_counting_and_a_user_s_disable_holds():
    """Lightning's setup switches the bar off on every rank but 0; trainbar's rank rule decides."""
    from types import SimpleNamespace

    other_rank = SimpleNamespace(is_global_zero=False)
    bar = TrainbarProgressBar(file=io.StringIO())
    bar.setup(other_rank, None, "fit")
    assert bar.is_enabled and bar.trainer is other_rank
    switched_off = TrainbarProgressBar(file=io.StringIO())
    switched_off.disable()
    switched_off.setup(other_rank, None, "fit")
    assert switched_off.is_disabled


def test_bad_metrics_interval_is_refused():
    """metrics_interval must be a non-negative number of seconds."""
    with pytest.raises(ValueError, match="metrics_interval"):
        TrainbarProgressBar(metrics_interval=-1)
    with pytest.raises(TypeError, match="metrics_interval"):
        TrainbarProgressBar(metrics_interval="1s")


DDP_SCRIPT = """
    import os, sys, time, torch, lightning as L
    from torch.utils.data import DataLoader, TensorDataset
    from trainbar.lightning import TrainbarProgressBar

    class Regression(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(8, 1)
        def training_step(self, batch, batch_idx):
            time.sleep(float(os.environ.get("STEP_SECONDS", "0")))  # a run long enough to gather ranks
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, prog_bar=True)
            return loss
        def validation_step(self, batch, batch_idx):
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]), prog_bar=True, sync_dist=True)
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    def loader(n):
        g = torch.Generator().manual_seed(0)
        return DataLoader(TensorDataset(torch.randn(n, 8, generator=g), torch.randn(n, 1, generator=g)), batch_size=16)

    if __name__ == "__main__":
        trainer = L.Trainer(strategy="ddp", devices=2, accelerator="cpu", max_epochs=2, logger=False,
                            enable_checkpointing=False, enable_model_summary=False, callbacks=[TrainbarProgressBar()])
        trainer.fit(Regression(), loader(128), loader(32))
        sys.stderr.write(f"rank {trainer.global_rank} finished\\n")
        # As a real job ends: Lightning leaves the gloo process group up, and gloo torn down by
        # the interpreter's exit aborts now and then ("terminate called without an active exception").
        import torch.distributed as dist
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
"""


def test_ddp_on_two_processes_shows_one_set_of_bars_in_a_plain_log(tmp_path):
    """strategy="ddp", devices=2 on the CPU: one set of bars, from rank 0, as plain lines."""
    script = write_script(tmp_path / "ddp_fit.py", DDP_SCRIPT)
    log = run_logged([python(), str(script)], tmp_path / "job.log", env=script_environment(), timeout=240, cwd=tmp_path)
    text = log.decode()
    assert "rank 0 finished" in text and "rank 1 finished" in text
    assert len(re.findall(r"^epochs: 0% 0/2", text, re.M)) == 1
    finished = re.findall(r"^epochs > epoch \d: 100% 4/4 .*val_loss=.* done$", text, re.M)
    assert len(finished) == 2, text
    assert not TERMINAL_CONTROL.search(log)


def test_ddp_rank_1_keeps_counting_so_rank_0_sums_up_the_job(tmp_path):
    """Lightning switches the bar off on rank 1; trainbar keeps it counting for rank 0's summary.

    The steps take half a second so that the ranks publish (once a second) and rank 0 reads
    them; with the bar switched off, rank 0 would say "not reporting: r1" after 2 s.
    """
    script = write_script(tmp_path / "ddp_fit.py", DDP_SCRIPT)
    env = script_environment(STEP_SECONDS="0.5", TRAINBAR_LOG_INTERVAL="0.5", TRAINBAR_HEARTBEAT_TIMEOUT="2")
    text = run_logged([python(), str(script)], tmp_path / "job.log", env=env, timeout=240, cwd=tmp_path).decode()
    bar_lines = [line for line in text.splitlines() if line.startswith("epochs")]
    assert any(" 2 ranks" in line for line in bar_lines), text
    assert "not reporting" not in text and "no heartbeat" not in text, text
    assert not re.search(r"^\[r1\]", text, re.M)  # still one set of bars


def test_ddp_with_trainbar_ranks_all_every_rank_draws(tmp_path):
    """TRAINBAR_RANKS=all is honoured under Lightning: each rank draws, its lines tagged."""
    script = write_script(tmp_path / "ddp_fit.py", DDP_SCRIPT)
    env = script_environment(TRAINBAR_RANKS="all")
    text = run_logged([python(), str(script)], tmp_path / "job.log", env=env, timeout=240, cwd=tmp_path).decode()
    for rank in (0, 1):
        assert re.search(rf"^\[r{rank}\] epochs > epoch 1: 100% 4/4 .* done$", text, re.M), text


PTY_SCRIPT = """
    import time, torch, lightning as L
    from torch.utils.data import DataLoader, TensorDataset
    from trainbar.lightning import TrainbarProgressBar

    class Regression(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(8, 1)
        def training_step(self, batch, batch_idx):
            time.sleep(0.02)
            if batch_idx == 2:
                self.print(f"note from batch {batch_idx}")
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, prog_bar=True)
            return loss
        def validation_step(self, batch, batch_idx):
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]), prog_bar=True)
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(256, 8, generator=g), torch.randn(256, 1, generator=g))
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=[TrainbarProgressBar()])
    trainer.fit(Regression(), DataLoader(data, batch_size=32), DataLoader(data, batch_size=128))
"""


def test_terminal_shows_the_epochs_and_prints_above_them():
    """In a real terminal: a finished line per epoch with val_loss, and self.print() above the bars."""
    result = run_in_pty(PTY_SCRIPT, env=child_environment(), timeout=120)
    assert result.returncode == 0, result
    lines = result.lines
    epochs = [line for line in lines if re.match(r"epoch \d: 100%", line)]
    assert len(epochs) == 2 and all("val_loss=" in line for line in epochs), result
    assert lines.count("note from batch 2") == 2
    assert lines.index("note from batch 2") < lines.index(epochs[0])
    assert any(re.match(r"epochs: 100%.* 2/2 ", line) for line in lines)
    assert "Epoch 0" not in result.text and "Sanity Checking" not in result.text  # no Lightning bar
    assert not [text for _, text in result.screen.overflows if text.startswith("epoch")]  # long logs may wrap
