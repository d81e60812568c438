"""Where a chapter's training time goes: steps/s and the share of each phase.

    python -m benchmarks.profile_training chapter3 [--steps 40] [--threads 1]
    python -m benchmarks.profile_training all

For each training loop of the chapter it builds the chapter's model with the
chapter's sizes and budget (batch size, learning rate, schedule), trains it for
``--steps`` steps through the package's own trainer and times every step in
four phases, without changing the trainer:

* data      -- drawing and padding the batch (from the end of the previous
               optimizer step to the model's first forward call);
* forward   -- the model's forward calls;
* backward  -- the loss, ``zero_grad``, ``loss.backward()`` and gradient clipping
               (from the end of the forward pass to the optimizer step);
* optimizer -- Adam's step.

The first two steps (warm-up, one-off set-up such as encoding the data set) are
left out of the shares. Times depend on the machine; the shares say where to
look.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Dict, List

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

import attnbook
from attnbook.train import TrainConfig

WARMUP_STEPS = 2


class PhaseTimer:
    """Timestamps of the model's forward calls and of the optimizer's steps."""

    def __init__(self) -> None:
        self.marks: List[tuple] = []  # (kind, time): "fwd_start", "fwd_end", "opt_start", "opt_end"

    def mark(self, kind: str) -> None:
        self.marks.append((kind, time.perf_counter()))

    @contextmanager
    def watching(self, model: nn.Module):
        """Hooks on ``model`` (or, if a trainer calls its parts directly, on its children) and on every
        optimizer; removed afterwards."""
        targets = [model] + list(model.children())
        handles = []
        for module in targets:
            handles.append(module.register_forward_pre_hook(lambda *_: self.mark("fwd_start")))
            handles.append(module.register_forward_hook(lambda *_: self.mark("fwd_end")))
        handles.append(register_optimizer_step_pre_hook(lambda *_: self.mark("opt_start")))
        handles.append(register_optimizer_step_post_hook(lambda *_: self.mark("opt_end")))
        self.mark("opt_end")  # the loop starts as if after an optimizer step
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def phases(self) -> List[Dict[str, float]]:
        """Per step, seconds in each phase."""
        steps, current = [], None
        last_opt_end = None
        for kind, t in self.marks:
            if kind == "opt_end":
                if current is not None and "opt_start" in current:
                    steps.append({
                        "data": current["fwd_start"] - last_opt_end,
                        "forward": current["fwd_end"] - current["fwd_start"],
                        "backward": current["opt_start"] - current["fwd_end"],
                        "optimizer": t - current["opt_start"],
                    })
                last_opt_end, current = t, {}
            elif current is not None:
                if kind == "fwd_start":
                    current.setdefault("fwd_start", t)  # the first forward call of the step
                elif kind == "fwd_end":
                    current["fwd_end"] = t  # the last one
                elif kind == "opt_start":
                    current["opt_start"] = t
        return steps


# ---------------------------------------------------------------------------
# The chapters' training loops: (name, build) -> build(steps) trains and returns the model
# ---------------------------------------------------------------------------


def _seq2seq_loop(make_data, make_model, budget: TrainConfig):
    from attnbook.train import train_seq2seq

    def run(steps: int, timer: PhaseTimer) -> None:
        data = make_data()
        model = make_model(data)
        with timer.watching(model):
            train_seq2seq(model, data, replace(budget, steps=steps, progress=False))
    return run


def _loops() -> Dict[str, Dict[str, Callable]]:
    from attnbook.data import make_dates_data, make_reorder_data
    from attnbook.seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig, Seq2Seq, Seq2SeqConfig
    from attnbook.transformer import Seq2SeqTransformer, TransformerConfig

    def gru(data, **kw):
        return Seq2Seq.from_config(Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, **kw))

    def bahdanau(data, **kw):
        return AttentionSeq2Seq.from_config(AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, **kw))

    def transformer(data):
        return Seq2SeqTransformer(TransformerConfig.for_vocabs(
            data.src_vocab, data.tgt_vocab, d_model=64, nhead=4, num_layers=2, num_decoder_layers=2,
            dim_feedforward=128))

    def captioner(kind: str):
        def run(steps: int, timer: PhaseTimer) -> None:
            from attnbook.captioning import Captioner, CaptionerConfig, CaptionTrainConfig, train_captioner
            from attnbook.data import SceneConfig, make_scene_data
            data = make_scene_data(SceneConfig())
            model = Captioner(CaptionerConfig.for_data(data, attention=kind, hidden_size=128))
            with timer.watching(model):
                train_captioner(model, data, CaptionTrainConfig(steps=steps, batch_size=64, progress=False))
        return run

    def han(pooling: str):
        def run(steps: int, timer: PhaseTimer) -> None:
            from attnbook.data.reviews import make_reviews_data
            from attnbook.han import HAN, HANConfig, train_classifier
            data = make_reviews_data()
            model = HAN(HANConfig.for_data(data, emb_dim=32, word_hidden=32, sentence_hidden=32, attention_dim=32,
                                           pooling=pooling))
            with timer.watching(model):
                train_classifier(model, data, TrainConfig(steps=steps, batch_size=64, lr=3e-3, progress=False))
        return run

    def order_classifier(steps: int, timer: PhaseTimer) -> None:
        from attnbook.data.language import make_order_data
        from attnbook.transformer import TransformerClassifier, train_sequence_classifier
        data = make_order_data()
        model = TransformerClassifier(TransformerConfig.for_vocabs(
            data.vocab, d_model=64, nhead=4, num_layers=2, dim_feedforward=128, positional="sinusoidal", max_len=16))
        with timer.watching(model):
            train_sequence_classifier(model, data.train_ids, data.train_lengths, data.train_labels,
                                      TrainConfig(steps=steps, batch_size=64, lr=3e-3, progress=False))

    def masked_lm(steps: int, timer: PhaseTimer) -> None:
        from attnbook.data.language import make_language_data
        from attnbook.transformer import MaskedLanguageModel, train_masked_lm
        lang = make_language_data()
        model = MaskedLanguageModel(TransformerConfig.for_vocabs(
            lang.vocab, d_model=64, nhead=4, num_layers=2, dim_feedforward=128, positional="learned", max_len=16))
        with timer.watching(model):
            train_masked_lm(model, lang, TrainConfig(steps=steps, batch_size=128, lr=3e-3, lr_schedule="cosine",
                                                     progress=False))

    def pretraining(kind: str):
        def run(steps: int, timer: PhaseTimer) -> None:
            from attnbook.data.language import make_language_data
            from attnbook.pretraining import GPT, BertForPretraining, bert_vocab, train_bert, train_gpt
            lang = make_language_data()
            vocab = bert_vocab(lang.vocab) if kind == "bert" else lang.vocab
            config = TransformerConfig(vocab_size=len(vocab), d_model=64, nhead=4, num_layers=2, dim_feedforward=128,
                                       max_len=24, activation="gelu")
            budget = TrainConfig(steps=steps, batch_size=64, lr=2e-3, lr_schedule="cosine", progress=False)
            model = BertForPretraining(config) if kind == "bert" else GPT(config)
            with timer.watching(model):
                if kind == "bert":
                    train_bert(model, lang, vocab, budget)
                else:
                    train_gpt(model, lang, budget)
        return run

    def digits_vit(steps: int, timer: PhaseTimer) -> None:
        from attnbook.data.digits import load_digits_data
        from attnbook.vit import ViTConfig, VisionTransformer, train_image_classifier
        digits = load_digits_data()
        model = VisionTransformer(ViTConfig(image_size=(8, 8), patch_size=2, in_channels=1, num_classes=10,
                                            d_model=32, depth=2, nhead=4, dim_feedforward=40))
        with timer.watching(model):
            train_image_classifier(model, digits.train_images, digits.train_labels,
                                   TrainConfig(steps=steps, batch_size=64, lr=3e-3, lr_schedule="cosine",
                                               progress=False))

    def scenes_vit(steps: int, timer: PhaseTimer) -> None:
        from attnbook.data import SceneConfig, make_scene_data
        from attnbook.data.scenes import shape_colour_task
        from attnbook.vit import ViTConfig, VisionTransformer, train_image_classifier
        task = shape_colour_task(make_scene_data(SceneConfig(n_train=12000)).train, "circle", side=True)
        model = VisionTransformer(ViTConfig(image_size=(32, 32), patch_size=8, in_channels=3,
                                            num_classes=len(task.label_names), d_model=64, depth=2, nhead=4,
                                            dim_feedforward=128))
        with timer.watching(model):
            train_image_classifier(model, task.images, task.labels,
                                   TrainConfig(steps=steps, batch_size=64, lr=2e-3, lr_schedule="cosine",
                                               progress=False))

    def detr(steps: int, timer: PhaseTimer) -> None:
        from attnbook.data import SceneConfig, make_scene_data
        from attnbook.detr import Detr, DetrConfig, train_detr
        data = make_scene_data(SceneConfig())
        model = Detr(DetrConfig())
        with timer.watching(model):
            train_detr(model, data, TrainConfig(steps=steps, batch_size=32, lr=3e-3, warmup=50,
                                                lr_schedule="cosine", progress=False))

    return {
        "chapter1": {"GRU encoder-decoder, reorder (hidden 128)": _seq2seq_loop(
            make_reorder_data, lambda d: gru(d, emb_dim=32, hidden_size=128), TrainConfig(batch_size=64, lr=3e-3))},
        "chapter2": {"captioner, soft attention": captioner("soft"),
                     "captioner, hard attention": captioner("hard")},
        "chapter3": {
            "reorder, Bahdanau attention": _seq2seq_loop(
                make_reorder_data, lambda d: bahdanau(d, emb_dim=32, hidden_size=64, decoder_hidden_size=64),
                TrainConfig(batch_size=32, lr=1e-2, lr_schedule="cosine")),
            "reorder, fixed context": _seq2seq_loop(
                make_reorder_data, lambda d: gru(d, emb_dim=32, hidden_size=64, bidirectional=True,
                                                 fixed_context=True),
                TrainConfig(batch_size=32, lr=1e-2, lr_schedule="cosine")),
            "dates, Bahdanau attention": _seq2seq_loop(
                make_dates_data, lambda d: bahdanau(d, emb_dim=32, hidden_size=32), TrainConfig(batch_size=64, lr=3e-3)),
        },
        "chapter4": {"HAN, attention pooling": han("attention")},
        "chapter5a": {"order task, Transformer classifier": order_classifier},
        "chapter5b": {"dates, Transformer": _seq2seq_loop(make_dates_data, transformer,
                                                           TrainConfig(batch_size=64, lr=3e-3, lr_schedule="cosine")),
                      "masked LM": masked_lm},
        "chapter5c": {"BERT, MLM + NSP on pairs": pretraining("bert"), "GPT, causal LM": pretraining("gpt")},
        "chapter6": {"digits ViT": digits_vit, "scenes ViT": scenes_vit},
        "chapter6b": {"DETR, set loss with matching": detr},
        "chapter7": {"dates, no attention": _seq2seq_loop(
                         make_dates_data, lambda d: gru(d, emb_dim=32, hidden_size=128),
                         TrainConfig(batch_size=64, lr=3e-3)),
                     "dates, Luong": _seq2seq_loop(
                         make_dates_data, lambda d: bahdanau(d, emb_dim=32, hidden_size=32, score="general",
                                                             style="luong"),
                         TrainConfig(batch_size=64, lr=3e-3)),
                     "dates, Transformer": _seq2seq_loop(make_dates_data, transformer,
                                                         TrainConfig(batch_size=64, lr=3e-3))},
    }


def profile(chapter: str, steps: int) -> List[str]:
    loops = _loops()
    if chapter not in loops:
        raise SystemExit(f"unknown chapter {chapter!r}: one of {', '.join(loops)} or all")
    rows = []
    for name, run in loops[chapter].items():
        attnbook.seed_everything()
        timer = PhaseTimer()
        run(steps, timer)
        phases = timer.phases()[WARMUP_STEPS:]
        if not phases:
            raise SystemExit(f"{name}: no step was timed (use --steps > {WARMUP_STEPS})")
        totals = {k: sum(p[k] for p in phases) for k in phases[0]}
        total = sum(totals.values())
        per_step = [sum(p.values()) for p in phases]
        rows.append(f"{chapter:9s} {name:42s} {len(phases) / total:7.1f} {1000 * statistics.median(per_step):8.1f} "
                    + " ".join(f"{100 * totals[k] / total:8.0f}%" for k in ("data", "forward", "backward",
                                                                              "optimizer")))
    return rows


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help="chapter1 ... chapter7, chapter5a, chapter5b, chapter5c, chapter6b, or all")
    parser.add_argument("--steps", type=int, default=40, help="training steps to time (default 40)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    chapters = list(_loops()) if args.chapter == "all" else [args.chapter]
    print(f"Training profile, {args.steps} steps per loop (the first {WARMUP_STEPS} not counted), "
          f"{torch.get_num_threads()} thread(s)")
    print(f"{'chapter':9s} {'loop':42s} {'steps/s':>7s} {'ms/step':>8s} {'data':>9s} {'forward':>9s} "
          f"{'backward':>9s} {'optimizer':>9s}")
    for chapter in chapters:
        for row in profile(chapter, args.steps):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
