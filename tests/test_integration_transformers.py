"""trainbar.transformers: the Trainer with a tiny GPT-2 built from a config (no download)."""

import io
import os
import re

import pytest
from frameworks import TERMINAL_CONTROL, need, python, run_logged, script_environment, write_script
from ptyrun import child_environment, run_in_pty

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = need("torch", "transformers")
transformers = need("transformers", "transformers")
need("accelerate", "transformers")

from transformers.trainer_callback import PrinterCallback, ProgressCallback  # noqa: E402

from trainbar.transformers import TrainbarCallback  # noqa: E402

pytestmark = [pytest.mark.frameworks, pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")]


class Tokens(torch.utils.data.Dataset):
    """Random token sequences; the labels are the inputs (causal LM)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        ids = torch.randint(0, 64, (16,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": ids.clone()}


def tiny_gpt2():
    config = transformers.GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=1, n_head=2,
                                     bos_token_id=0, eos_token_id=0)  # fmt: skip
    return transformers.GPT2LMHeadModel(config)


def make_trainer(tmp_path, callbacks=(), **options):
    settings = dict(max_steps=20, per_device_train_batch_size=4, per_device_eval_batch_size=8, logging_steps=5,
                    report_to=[], save_strategy="no", use_cpu=True)  # fmt: skip
    settings.update(options)
    args = transformers.TrainingArguments(output_dir=str(tmp_path / "out"), **settings)
    return transformers.Trainer(model=tiny_gpt2(), args=args, train_dataset=Tokens(64), eval_dataset=Tokens(32),
                                callbacks=list(callbacks))  # fmt: skip


def names(trainer) -> list:
    return [type(cb).__name__ for cb in trainer.callback_handler.callbacks]


def test_it_takes_the_place_of_the_tqdm_callback_at_construction(tmp_path):
    """Passed in callbacks=, it has removed ProgressCallback by the time the Trainer exists."""
    trainer = make_trainer(tmp_path, [TrainbarCallback()])
    assert "ProgressCallback" not in names(trainer)
    assert names(trainer).count("TrainbarCallback") == 1


def test_it_takes_the_place_of_the_notebook_callback(tmp_path):
    """In a notebook the Trainer uses NotebookProgressCallback: that one goes too."""
    from transformers.utils.notebook import NotebookProgressCallback

    trainer = make_trainer(tmp_path, [NotebookProgressCallback(), TrainbarCallback()])
    assert not [n for n in names(trainer) if n in ("NotebookProgressCallback", "ProgressCallback")]


def test_it_takes_the_place_of_the_printer_when_tqdm_is_disabled(tmp_path):
    """With disable_tqdm=True the logs would print twice: PrinterCallback is removed."""
    trainer = make_trainer(tmp_path, [TrainbarCallback()], disable_tqdm=True)
    assert "PrinterCallback" not in names(trainer)


def test_called_from_outside_a_trainer_it_says_what_to_do(tmp_path):
    """on_init_end with no Trainer up the stack warns, naming remove_callback."""
    trainer = make_trainer(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"trainer.remove_callback\(ProgressCallback\)"):
        TrainbarCallback().on_init_end(trainer.args, trainer.state, trainer.control)


def test_added_after_construction_it_takes_over_when_training_begins(tmp_path, manual):
    """trainer.add_callback() after __init__: ProgressCallback is gone once train() starts."""
    trainer = make_trainer(tmp_path, max_steps=2)
    trainer.add_callback(TrainbarCallback(file=io.StringIO()))
    trainer.train()
    assert not any(isinstance(cb, (ProgressCallback, PrinterCallback)) for cb in trainer.callback_handler.callbacks)


def test_training_bar_follows_global_step_and_shows_the_logs(tmp_path, manual):
    """The train bar counts optimizer steps to max_steps and ends with the last loss."""
    stream = io.StringIO()
    trainer = make_trainer(tmp_path, [TrainbarCallback(file=stream)], gradient_accumulation_steps=2)
    trainer.train()
    bar_lines = [line for line in stream.getvalue().splitlines() if line.startswith("train:")]
    assert bar_lines[0].startswith("train: 0% 0/20")
    assert bar_lines[-1].startswith("train: 100% 20/20") and bar_lines[-1].endswith("done")
    assert " loss=" in bar_lines[-1] and " learning_rate=" in bar_lines[-1] and " train_loss=" in bar_lines[-1]
    assert "train_runtime" not in bar_lines[-1]  # timings go to the log lines only


def test_each_log_is_a_line_above_the_bars(tmp_path, manual):
    """Every on_log becomes one 'step N/M key=value' line, timings included."""
    stream = io.StringIO()
    make_trainer(tmp_path, [TrainbarCallback(file=stream)]).train()
    logs = [line for line in stream.getvalue().splitlines() if line.startswith("step ")]
    assert [line.split(" ")[1] for line in logs] == ["5/20", "10/20", "15/20", "20/20", "20/20"]
    assert all(re.search(r" loss=\d", line) for line in logs[:4])
    assert "train_runtime=" in logs[-1] and "total_flos" not in logs[-1]


def test_evaluation_during_training_is_a_passing_bar_and_its_loss_joins_the_train_bar(tmp_path, manual):
    """eval_strategy='steps': eval_loss reaches the train bar; a quick evaluation adds no bar lines."""
    stream = io.StringIO()
    make_trainer(tmp_path, [TrainbarCallback(file=stream)], eval_strategy="steps", eval_steps=10).train()
    lines = stream.getvalue().splitlines()
    assert " eval_loss=" in [line for line in lines if line.startswith("train:")][-1]
    assert not [line for line in lines if line.startswith("evaluate")]
    assert len([line for line in lines if line.startswith("step 10/20 eval_loss=")]) == 1


def test_evaluate_and_predict_have_bars(tmp_path, manual):
    """trainer.evaluate() and trainer.predict() each draw a bar over their batches."""
    stream = io.StringIO()
    trainer = make_trainer(tmp_path, [TrainbarCallback(file=stream)])
    trainer.evaluate()
    trainer.predict(Tokens(16))
    done = [line for line in stream.getvalue().splitlines() if line.endswith("done")]
    assert done[0].startswith("evaluate: 100% 4/4") and " eval_loss=" in done[0]
    assert done[1].startswith("predict: 100% 2/2") and " test_loss=" in done[1]


# What the subprocess tests run: the same tiny GPT-2 as above, as a script of its own.
SCRIPT_PRELUDE = """
    import os, sys, time, torch, transformers
    from trainbar.transformers import TrainbarCallback

    class Tokens(torch.utils.data.Dataset):
        def __len__(self):
            return 64
        def __getitem__(self, i):
            ids = torch.randint(0, 64, (16,), generator=torch.Generator().manual_seed(i))
            return {"input_ids": ids, "labels": ids.clone()}

    class Pace(transformers.TrainerCallback):
        \"\"\"Each step takes STEP_SECONDS longer: a run long enough to watch.\"\"\"
        def on_step_end(self, *args, **kwargs):
            time.sleep(float(os.environ.get("STEP_SECONDS", "0")))

    def trainer(output_dir, max_steps, logging_steps):
        config = transformers.GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)
        args = transformers.TrainingArguments(output_dir=output_dir, max_steps=max_steps, per_device_train_batch_size=4,
                                              logging_steps=logging_steps, report_to=[], save_strategy="no", use_cpu=True)
        return transformers.Trainer(model=transformers.GPT2LMHeadModel(config), args=args, train_dataset=Tokens(),
                                    callbacks=[TrainbarCallback(), Pace()])
"""

TORCHRUN_SCRIPT = SCRIPT_PRELUDE + """
    run = trainer("out", max_steps=8, logging_steps=4)
    run.train()
    sys.stderr.write(f"rank {run.args.process_index} finished\\n")
    # Gloo's threads abort the process ("terminate called without an active exception") when
    # the interpreter exits with the group still up; a real job tears it down like this.
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
"""


def run_torchrun(tmp_path, **env) -> str:
    script = write_script(tmp_path / "hf_train.py", TORCHRUN_SCRIPT)
    command = [python(), "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    return run_logged(command, tmp_path / "job.log", env=script_environment(**env), timeout=300, cwd=tmp_path).decode()


def test_torchrun_with_two_processes_shows_one_bar_in_a_plain_log(tmp_path):
    """torchrun --nproc_per_node=2: one train bar and one set of log lines, as plain text."""
    text = run_torchrun(tmp_path)
    assert "rank 0 finished" in text and "rank 1 finished" in text, text
    assert len(re.findall(r"^train: 0% 0/8", text, re.M)) == 1, text
    assert len(re.findall(r"^train: 100% 8/8 .* done$", text, re.M)) == 1, text
    assert len(re.findall(r"^step 4/8 loss=", text, re.M)) == 1, text
    assert not TERMINAL_CONTROL.search(text.encode())


def test_torchrun_rank_1_keeps_counting_so_rank_0_sums_up_the_job(tmp_path):
    """Rank 1 counts its steps too (it draws nothing): rank 0's bar sums up both ranks.

    The steps take half a second so that the ranks publish (once a second) and rank 0 reads
    them; a rank without bars would be "not reporting: r1" after 2 s.
    """
    text = run_torchrun(tmp_path, STEP_SECONDS="0.5", TRAINBAR_LOG_INTERVAL="0.5", TRAINBAR_HEARTBEAT_TIMEOUT="2")
    assert any(" 2 ranks" in line for line in text.splitlines() if line.startswith("train:")), text
    assert "not reporting" not in text and "no heartbeat" not in text, text
    assert len(re.findall(r"^train: 100% 8/8 .* done$", text, re.M)) == 1


def test_torchrun_with_trainbar_ranks_all_every_rank_draws(tmp_path):
    """TRAINBAR_RANKS=all is honoured under the Trainer: each rank draws, its lines tagged."""
    text = run_torchrun(tmp_path, TRAINBAR_RANKS="all")
    for rank in (0, 1):
        assert re.search(rf"^\[r{rank}\] train: 100% 8/8 .* done$", text, re.M), text


PTY_SCRIPT = SCRIPT_PRELUDE + """
    trainer("/tmp/trainbar-hf-pty", max_steps=20, logging_steps=5).train()
"""


def test_terminal_shows_the_logs_above_one_finished_bar():
    """In a real terminal: the log lines in order above one finished train bar, and no tqdm."""
    result = run_in_pty(PTY_SCRIPT, env=child_environment(HF_HUB_OFFLINE="1", STEP_SECONDS="0.03"), timeout=120)
    assert result.returncode == 0, result
    lines = result.lines
    logs = [line for line in lines if line.startswith("step ")]
    assert [line.split(" ")[1] for line in logs] == ["5/20", "10/20", "15/20", "20/20", "20/20"], result
    bars = [line for line in lines if line.startswith("train:")]
    assert len(bars) == 1 and re.match(r"train: 100%.* 20/20 ", bars[0]), result
    assert lines.index(logs[-1]) < lines.index(bars[0])
    assert "it/s]" not in result.text  # tqdm's bar never drew
    assert not [text for _, text in result.screen.overflows if text.startswith("train")]  # long logs may wrap
