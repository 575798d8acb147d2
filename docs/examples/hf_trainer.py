"""The Hugging Face Trainer with trainbar's bars: a bar that says what the run is doing, in the Trainer.

A tiny GPT-2 built from a config (nothing is downloaded) trained on random tokens. The Trainer's
tqdm bar is replaced: a train bar at ``state.global_step``, each log as a line above it, and bars
for evaluation and prediction. Under ``torchrun`` only the main process shows them.

    python docs/examples/hf_trainer.py
    torchrun --standalone --nproc_per_node=2 docs/examples/hf_trainer.py
"""

import tempfile

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from trainbar.transformers import TrainbarCallback


class RandomTokens(torch.utils.data.Dataset):
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        ids = torch.randint(0, 64, (16,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": ids.clone()}


config = GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)
args = TrainingArguments(
    output_dir=tempfile.mkdtemp(prefix="trainbar-hf-"),
    max_steps=40,
    per_device_train_batch_size=4,
    logging_steps=10,
    eval_strategy="steps",
    eval_steps=20,
    report_to=[],
    save_strategy="no",
    use_cpu=not torch.cuda.is_available(),
)
trainer = Trainer(
    model=GPT2LMHeadModel(config),
    args=args,
    train_dataset=RandomTokens(128),
    eval_dataset=RandomTokens(32),
    callbacks=[TrainbarCallback()],
)
trainer.train()
trainer.evaluate()
trainer.predict(RandomTokens(16))
