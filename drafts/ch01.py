import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
from nbbuild import build, INSTALL
cells = []
md = lambda s, *t: cells.append(("md", s, t))
code = lambda s, *t: cells.append(("code", s, t))

md(r"""
# 1. The RNN bottleneck: one hidden state is not enough

Before attention, neural translation meant recurrent networks: read the sentence
word by word into a hidden state, then write the translation word by word out of
it. This chapter builds that machine, trains it on a translation task whose
sentence length we control, and measures where it breaks — and why.

```{admonition} Learning goals
:class: tip
After this chapter you can

1. write the update of a vanilla {term}`recurrent neural network` and say why a plain
   RNN turns $T$ inputs into exactly $T$ outputs;
2. describe the {term}`encoder–decoder`: what the encoder hands over, and what
   the decoder does with it;
3. measure how the accuracy of an encoder–decoder falls with sentence length,
   and how little a bigger {term}`hidden state` buys;
4. explain {term}`vanishing gradients <vanishing gradient>` and
   {term}`exploding gradients <exploding gradient>` through time from the
   {term}`spectral radius` of the recurrent weights — and say how fast, in numbers;
5. answer the question this book starts from — *is one hidden state really
   enough?* — with this chapter's own measurements.
```
""")
code(INSTALL)
code(r"""
import math

import numpy as np
import torch
import matplotlib.pyplot as plt

import attnbook
from attnbook.rnn import (RNN, gradient_norms, vanilla_rnn_gradient_norms,
                          gated_rnn_gradient_norms)
from attnbook.data.reorder import make_reorder_data
from attnbook.seq2seq import Seq2Seq, Seq2SeqConfig
from attnbook.train import TrainConfig, train_seq2seq, evaluate, format_table
from attnbook.viz import rnn_diagram, accuracy_by_length, correctness_map

seed = attnbook.seed_everything()   # reads ATTNBOOK_SEED, default 0
print("seed", seed)
""")

# ---------------------------------------------------------------- 1. vanilla RNN
md(r"""
## 1. A vanilla RNN: one hidden vector, updated word by word

A {term}`recurrent neural network` reads a sequence $x_1, \dots, x_T$ one element
at a time and keeps a single vector, the {term}`hidden state` $h_t$, as its memory
of everything it has read so far. Each step mixes the new input into the old state:

$$h_t = \tanh\left(W_{ih}\, x_t + b_{ih} + W_{hh}\, h_{t-1} + b_{hh}\right), \qquad h_0 = 0 .$$

The same weights $W_{ih}$ (input to hidden) and $W_{hh}$ (hidden to hidden) are
used at every step. Here is the package's from-scratch cell — the whole of it:

```{literalinclude} ../src/attnbook/rnn.py
:pyobject: rnn_cell_step
```

and the layer that applies it word by word, collecting one output per input:

```{literalinclude} ../src/attnbook/rnn.py
:pyobject: RNN.forward
:dedent: 4
```

(In Jupyter or Colab, `attnbook.rnn.rnn_cell_step??` shows the same code.)
Its parameters are named like PyTorch's, so we can copy its weights into
`torch.nn.RNN` and check that the two compute the same thing.
""")
code(r"""
ours = RNN(input_size=8, hidden_size=16)         # from scratch
theirs = torch.nn.RNN(8, 16, batch_first=True)   # PyTorch's built-in RNN
theirs.load_state_dict(ours.state_dict())        # the same weights

x = torch.randn(3, 7, 8)              # (B, T, I): 3 sequences of 7 inputs
out_ours, h_ours = ours(x)            # (B, T, H), (B, H)
out_theirs, h_theirs = theirs(x)      # (B, T, H), (1, B, H)

max_diff = max((out_ours - out_theirs).abs().max().item(),
               (h_ours - h_theirs[0]).abs().max().item())
print("outputs:", tuple(out_ours.shape),
      f"| largest difference from torch.nn.RNN: {max_diff:.1e}")
assert max_diff < 1e-6
assert out_ours.shape[1] == x.shape[1]          # T inputs -> T outputs
""")
md(r"""
The from-scratch RNN agrees with `torch.nn.RNN` to within $10^{-6}$ (the difference
printed above is rounding). Notice the shapes: **7 inputs give 7 outputs**, one
hidden vector per step.
""")
code(r"""
fig = rnn_diagram("red cat sees old dog".split(),
                  title="A plain RNN: one output per input, "
                        "each from the words read so far")
""")
md(r"""
That is the first problem for translation. A plain RNN emits one output per
input, so it cannot translate *I love you* (3 words) into *je t'aime* (2), or any
sentence into one of a different length. And output $y_t$ is computed from
$x_1, \dots, x_t$ only, so it cannot depend on words that come later in the
sentence — which translation often needs. Check it: change the last input and
watch the first output.
""")
code(r"""
x2 = x.clone()
x2[:, -1] = torch.randn(3, 8)               # a different last word
out2, _ = ours(x2)
first_unchanged = torch.equal(out2[:, 0], out_ours[:, 0])
last_changed = not torch.allclose(out2[:, -1], out_ours[:, -1])
print("first output unchanged:", first_unchanged,
      "| last output changed:", last_changed)
assert first_unchanged and last_changed
""")

# ---------------------------------------------------------------- 2. encoder-decoder
md(r"""
## 2. The encoder–decoder: read everything, then write

The fix of {cite:t}`cho2014learning` and {cite:t}`sutskever2014sequence` is to
use **two** recurrent networks, an {term}`encoder–decoder`:

* the **encoder** reads the whole source sentence; its last hidden state
  $h_S$ is a summary of the sentence, a fixed-size vector;
* the **decoder** starts from that vector and writes the translation one word at
  a time, feeding each word it writes back in as its next input, until it
  writes an end-of-sentence token. Output length is now free.

Both are {term}`GRUs <GRU>` here: RNN cells with *gates* that decide how much of the old
state to keep at each step (section 4 shows why that matters).
""")
code(r"""
fig = rnn_diagram("red cat sees old dog".split(),
                  "chien vieux voit chat rouge".split(),
                  title="Encoder–decoder: the encoder's last state is "
                        "the decoder's only view of the source")
""")
md(r"""
### A translation task whose length we control

To measure what this costs we need sentences of every length, so the data are
synthetic (`attnbook.data.reorder`): a source sentence is a random string of
words from a 24-word English lexicon; its "French" translation replaces every
word by a fixed French word and **reverses the order** — the last source word
comes first. Sources have 4 to 40 words; the test set has 200 sentences in each
length bucket, none of them seen in training.
""")
code(r"""
data = make_reorder_data()              # seeded by ATTNBOOK_SEED
ex = data.test[0]
print("source:   ", " ".join(ex.source))
print("target:   ", " ".join(ex.target))
print("alignment:", ex.alignment, " (source position of each target word)")
print(f"{len(data.train)} training pairs, {len(data.test)} test pairs; "
      f"vocabularies of {len(data.src_vocab)} and {len(data.tgt_vocab)} "
      "tokens (4 of them special)")
print("test buckets:", data.info["buckets"])
assert len(data.src_vocab) - 4 == 24
assert all(len(e.source) == len(e.target) for e in data.test)
""")
md(r"""
The model is the package's `Seq2Seq`: embeddings of size 32, a GRU encoder and
a GRU decoder with hidden states of 128 numbers. The decoder's first state is
the encoder's last one, and that is all it ever sees of the source:

```{literalinclude} ../src/attnbook/seq2seq.py
:pyobject: Decoder.step
:dedent: 4
```

The encoder does compute one vector per source word (its *annotations*), but
the decoder never reads them — we can replace them with noise and nothing changes:
""")
code(r"""
config = Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab,
                                  emb_dim=32, hidden_size=128)
model = Seq2Seq.from_config(config)
n_params = sum(p.numel() for p in model.parameters())
print(f"{n_params:,} parameters")

src = torch.tensor([data.src_vocab.encode(ex.source)])   # (B, S), B = 1
src_lengths = torch.tensor([len(ex.source)])             # (B,)
# (B, T): <bos> y_1 ... y_T, the decoder's inputs under teacher forcing
tgt_in = torch.tensor([data.tgt_vocab.encode(ex.target, add_bos=True)])
enc = model.encoder(src, src_lengths)
print("annotations:", tuple(enc.annotations.shape), "(B, S, H) | "
      "final state:", tuple(enc.final.shape), "(B, H)")

logits, _ = model.decoder(tgt_in, enc)                   # (B, T, V)
noisy = enc._replace(annotations=torch.randn_like(enc.annotations))
logits_noisy, _ = model.decoder(tgt_in, noisy)
assert torch.equal(logits, logits_noisy)      # the annotations are never read
print("decoder output with the annotations replaced by noise: identical")
""")

# ---------------------------------------------------------------- 3. the bottleneck
md(r"""
## 3. The bottleneck, measured

Training uses {term}`teacher forcing` — the decoder is fed the *correct* previous
word and learns to predict the next one — with Adam, 1,000 steps of 64 sentences
(`attnbook.train.train_seq2seq`, which shows a progress bar). The test
translations are then produced by {term}`greedy decoding`: at every step the
decoder takes its most likely word and feeds it back. We score them two ways:
{term}`exact match` (the whole sentence right) and {term}`token accuracy` (the
fraction of reference words right at their position).
""")
code(r"""
train_config = TrainConfig(steps=1000, batch_size=64, lr=3e-3,
                           desc="GRU encoder-decoder, hidden 128")
run = train_seq2seq(model, data, train_config)
print(f"{run.steps} steps in {run.seconds:.0f} s "
      f"({run.steps_per_second:.0f} steps/s); loss "
      f"{np.mean(run.losses[:20]):.2f} -> {np.mean(run.losses[-20:]):.2f}")

result = evaluate(model, data)
print(format_table(result))
token_acc = [b["token_accuracy"] for b in result["by_bucket"]]
exact = [b["exact_match"] for b in result["by_bucket"]]
""")
code(r"""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
accuracy_by_length(result, ax=axes[0], title="token accuracy")
axes[0].axhline(1 / 24, color="grey", ls=":", label="chance (1/24)")
axes[0].legend(fontsize=8)
accuracy_by_length(result, metric="exact_match", ax=axes[1],
                   title="exact match")
fig.suptitle("No attention: accurate on short sentences, lost on long ones")
fig.tight_layout()

# The claims of the paragraph below, checked.
assert token_acc[0] >= 0.85 and exact[0] >= 0.6   # 4-10 words: mostly right
assert 0.1 <= token_acc[-1] <= 0.2       # 31-40 words: about one in six
assert all(a > b for a, b in zip(token_acc, token_acc[1:]))  # every bucket
assert max(exact[2:]) <= 0.01            # 21+ words: (almost) never whole
""")
md(r"""
On sources of 4 to 10 words the model gets close to nine words in ten right and
most sentences exactly right (the table above gives this run's numbers). Every
longer bucket is worse than the one before: on 31 to 40 words it gets only about
one word in six right — only a few times the 1/24 ≈ 0.04 of random guessing —
and from 21 words on it essentially never produces a whole sentence correctly.

**Where do the errors start?** Because the translation is reversed, target
position $j$ holds the word that the encoder read $j$ steps before the end. So
accuracy by target position tells us how well the final hidden state remembers
words read 1, 2, 3, … steps earlier.
""")
code(r"""
predictions = result["predictions"]
references = [e.target for e in data.test]
max_len = max(len(r) for r in references)
right, seen = np.zeros(max_len), np.zeros(max_len)
for p, r in zip(predictions, references):
    for j in range(len(r)):
        seen[j] += 1
        right[j] += j < len(p) and p[j] == r[j]
by_position = right / seen                 # (max_len,)

# five test sentences per length bucket, for the figure and the browser below
shown = []
for lo, hi in data.info["buckets"]:
    in_bucket = [k for k, e in enumerate(data.test)
                 if lo <= len(e.source) <= hi]
    shown += in_bucket[:5]

fig, axes = plt.subplots(1, 2, figsize=(12, 4.6),
                         gridspec_kw={"width_ratios": [1, 1.5]})
axes[0].plot(np.arange(1, max_len + 1), by_position, "o-", ms=3)
axes[0].axhline(1 / 24, color="grey", ls=":", label="chance (1/24)")
axes[0].set(xlabel="target position j  (= the j-th source word from the end)",
            ylabel="token accuracy", ylim=(0, 1.02),
            title="The last words read are remembered best")
axes[0].legend(fontsize=8)
axes[0].grid(alpha=0.3)
correctness_map([predictions[i] for i in shown],
                [references[i] for i in shown], ax=axes[1],
                row_labels=[f"{len(data.test[i].source)} words" for i in shown],
                title="Five test sentences per length bucket")
fig.tight_layout()

print("token accuracy at target positions 1-10:",
      np.round(by_position[:10], 2))
print(f"mean over positions 16-{max_len}: {by_position[15:].mean():.2f}")
assert by_position[0] >= 0.9 and by_position[9] < 0.4
assert by_position[15:].mean() < 0.2
""")
md(r"""
The first word of the translation — the last word the encoder read — is right
in at least nine cases out of ten; by the tenth word, fewer than four in ten are
right, and from the sixteenth word on accuracy averages below 0.2 (numbers above).
The map on the right shows the same pattern sentence by sentence: a green run at
the start, then mostly red. The encoder's last state holds the most recent few
words well and older ones barely at all.

Here are the same sentences as text, wrong words in `[brackets]`, and then in a
browser where you can pick a length bucket and a sentence, and hover a word to
compare it with the reference:
""")
code(r"""
def marked(pred, ref):      # [wrong] words; _ = a word the model never wrote
    words = [w if j < len(ref) and w == ref[j] else f"[{w}]"
             for j, w in enumerate(pred)]
    return " ".join(words + ["_"] * (len(ref) - len(pred)))

for i in shown[::5]:
    e = data.test[i]
    print(f"{len(e.source)} words")
    print("  source:   ", " ".join(e.source))
    print("  reference:", " ".join(e.target))
    print("  model:    ", marked(predictions[i], e.target))
""")
code(r"""
from attnbook.widgets import TranslationView

examples = []
for k, i in enumerate(shown):
    e = data.test[i]
    bucket = next(b["bucket"] for b in result["by_bucket"]
                  if b["lo"] <= len(e.source) <= b["hi"])
    examples.append({
        "source": e.source, "reference": e.target, "alignment": e.alignment,
        "outputs": {"no attention": predictions[i]},
        "group": bucket, "name": f"#{k % 5 + 1}: {len(e.source)} words",
    })
TranslationView.from_examples(
    examples, group_label="source length", example_label="sentence",
    index=5,        # start on the 11-20 bucket: some words right, some wrong
    title="The model's translations: wrong words in red, "
          "hover a word to compare",
)
""")

# ---------------------------------------------------------------- 3b. hidden sizes
md(r"""
### Does a bigger hidden state help?

If 128 numbers are too few, use more. The next cell trains four models with
hidden states of 32 to 256 numbers. To fit the chapter's time budget they get a
smaller budget than the model above (300 steps of 32 sentences each), so compare
them with each other, not with the table above.
""")
code(r"""
hidden_sizes = [32, 64, 128, 256]
sweep = {}
for hidden in hidden_sizes:
    attnbook.seed_everything(seed)     # the same randomness for every size
    cfg = Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab,
                                   hidden_size=hidden)
    m = Seq2Seq.from_config(cfg)
    train_seq2seq(m, data, TrainConfig(steps=300, batch_size=32,
                                       desc=f"hidden {hidden}"))
    sweep[hidden] = evaluate(m, data)
    sweep[hidden]["parameters"] = sum(p.numel() for p in m.parameters())

buckets = [b["bucket"] for b in result["by_bucket"]]
print("token accuracy by source length")
print(f"{'hidden':>6} {'params':>8}  " + "  ".join(f"{b:>6}" for b in buckets))
for hidden, res in sweep.items():
    accs = [f"{b['token_accuracy']:6.2f}" for b in res["by_bucket"]]
    print(f"{hidden:>6} {res['parameters']:>8,}  " + "  ".join(accs))
""")
code(r"""
fig = accuracy_by_length({f"hidden {h}": r for h, r in sweep.items()},
                         title="A bigger hidden state helps short sentences, "
                               "hardly long ones")

acc = {h: [b["token_accuracy"] for b in r["by_bucket"]]
       for h, r in sweep.items()}
gain_short = acc[256][0] - acc[32][0]
gain_long = acc[256][-1] - acc[32][-1]
print(f"32 -> 256 numbers: +{gain_short:.2f} on 4-10 words, "
      f"+{gain_long:.2f} on 31-40 words")
assert all(a[-1] < a[0] / 3 for a in acc.values())  # the trend, at every size
assert gain_short > 0.3 and gain_short > 3 * gain_long   # what 8x state buys
assert all(max(b["exact_match"] for b in r["by_bucket"][2:]) <= 0.01
           for r in sweep.values())

# the model of the table above saw ~7x more sentences (1000x64 vs 300x32)
more_training_short = token_acc[0] - acc[128][0]
more_training_long = token_acc[-1] - acc[128][-1]
print(f"hidden 128, 300x32 -> 1000x64 sentences: "
      f"+{more_training_short:.2f} on 4-10, +{more_training_long:.2f} on 31-40")
assert more_training_short > 3 * more_training_long
""")
md(r"""
An eight times larger state (32 → 256 numbers) lifts token accuracy on the
shortest sentences by more than 0.3, and on the longest by less than a third of
that; at
every size the longest bucket stays below a third of the shortest, and at no
size does more than the odd sentence of 21 or more words come out whole. More training does the same: the
128-number model of the table above, which saw about seven times as many
sentences, is far better on short sentences than its twin in this sweep and only
a little better on long ones (numbers above). Pick a hidden size:
""")
code(r"""
from attnbook.widgets import PrecomputedView

def sweep_figure(hidden):
    fig = accuracy_by_length({f"hidden {h}": r for h, r in sweep.items()},
                             highlight=f"hidden {hidden}",
                             title=f"hidden state of {hidden} numbers")
    fig.set_size_inches(5.6, 3.4)
    readout = {"parameters": f"{sweep[hidden]['parameters']:,}"}
    for b in sweep[hidden]["by_bucket"]:
        readout[f"token accuracy, {b['bucket']} words"] = round(
            b["token_accuracy"], 2)
    readout["exact match, 4-10 words"] = round(
        sweep[hidden]["by_bucket"][0]["exact_match"], 2)
    return fig, readout

PrecomputedView.from_function(hidden_sizes, sweep_figure, label="hidden size",
                              control="buttons", index=2)
""")

# ---------------------------------------------------------------- 4. gradients
md(r"""
## 4. Vanishing and exploding gradients

Training has to send the error at the output back to the words that caused it —
{term}`backpropagation through time`. By the chain rule the gradient that
reaches step $t$ from step $T$ is multiplied by one Jacobian per step in between:

$$\frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \frac{\partial h_k}{\partial h_{k-1}}
= \prod_{k=t+1}^{T} \operatorname{diag}\!\left(1 - h_k^2\right) W_{hh}.$$

A product of $T - t$ similar matrices behaves like a power: roughly
$\rho^{\,T-t}$, where $\rho$ is the {term}`spectral radius` of $W_{hh}$ (its
largest absolute eigenvalue), further shrunk by the $\tanh$ derivatives
$1 - h_k^2 \le 1$. Below 1 it **vanishes** exponentially; above 1 it can
**explode**. `attnbook.rnn.vanilla_rnn_gradient_norms` measures
$\lVert \partial h_{50} / \partial h_t \rVert$ (the largest stretch, the spectral
norm) along a random input sequence, for a recurrent matrix scaled to a chosen
spectral radius.
""")
code(r"""
radii = [0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5]
STEPS = 50
# ||dh_50/dh_t|| for t = 0..50: a (51,) array per radius
norms = {r: vanilla_rnn_gradient_norms(r, steps=STEPS, seed=seed).numpy()
         for r in radii}
gated = {}
for kind in ("GRU", "LSTM"):
    for bias in (0, 3):
        init = "default init" if bias == 0 else f"memory bias {bias}"
        name = f"{kind}, {init}"
        gated[name] = gated_rnn_gradient_norms(
            kind.lower(), steps=STEPS, memory_bias=bias, seed=seed).numpy()

def per_step(g):            # the mean factor per step, ||dh_T/dh_0||^(1/T)
    return g[0] ** (1 / STEPS)

print(f"{'':>20} {'||dh_50/dh_0||':>15} {'factor per step':>16}")
for r in radii:
    print(f"{'radius ' + str(r):>20} {norms[r][0]:15.2g} "
          f"{per_step(norms[r]):16.3f}")
for name, g in gated.items():
    print(f"{name:>20} {g[0]:15.2g} {per_step(g):16.3f}")
""")
code(r"""
t = np.arange(STEPS + 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
colors = plt.cm.coolwarm(np.linspace(0, 1, len(radii)))
for c, r in zip(colors, radii):
    axes[0].semilogy(t, norms[r], color=c, lw=2, label=f"radius {r:g}")
axes[0].set(xlabel="t", ylabel=r"$\|\partial h_{50} / \partial h_t\|$",
            title="vanilla tanh RNN")
axes[0].legend(fontsize=7, ncol=2)
for name, g in gated.items():
    axes[1].semilogy(t, g, lw=2, ls="-" if "bias" in name else "--",
                     label=name)
axes[1].semilogy(t, norms[1.0], color="grey", lw=1, label="vanilla, radius 1")
axes[1].set(xlabel="t", title="gated cells")
axes[1].legend(fontsize=7)
for ax in axes:
    ax.grid(alpha=0.3, which="major")
fig.suptitle("How much of the gradient at step 50 reaches step t")
fig.tight_layout()

g05, g10, g15 = norms[0.5][0], norms[1.0][0], norms[1.5][0]
assert g05 <= 1e-3                  # shrinks by at least 10^3 in 50 steps,
assert 1e-17 < g05 < 1e-14          # in fact to about 1e-16:
assert 0.45 < per_step(norms[0.5]) < 0.5        # it halves at every step
assert 1 < g15 < 1e3                # radius 1.5: it grows
assert g10 < 0.5                    # radius 1: still fades (tanh' < 1)
assert norms[0.5][0] < norms[0.75][0] < norms[0.9][0] < norms[1.0][0]
assert gated["GRU, default init"][0] < 1e-6
assert gated["LSTM, default init"][0] < 1e-6
assert 0.15 < gated["GRU, memory bias 3"][0] < 0.3
assert gated["LSTM, memory bias 3"][0] > 1
""")
md(r"""
The numbers in the table above:

* **Radius 0.5:** the gradient roughly halves at every step (a factor just under
  0.5, the radius shrunk a little by $\tanh'$), so after 50 steps about
  $10^{-16}$ of it is left — the first words of a sentence get practically no
  training signal.
* **Radius 1:** even at the edge it fades — to less than half over 50 steps,
  usually far less — because $\tanh' < 1$ wherever the state is not zero.
* **Radius 1.5:** it grows instead, by a factor that depends on the seed —
  from a few times to a few hundred times over 50 steps. Saturating $\tanh$ units hold
  it back; without them it would be $1.5^{50} \approx 6 \times 10^{8}$. Exploding
  gradients are why training clips the gradient norm (`TrainConfig.grad_clip`).
* **Gated cells** ({term}`GRU`, {term}`LSTM`) at PyTorch's default initialisation
  vanish too (below $10^{-6}$). Their gates can, however, learn to keep the old
  state: with a bias of 3 on the "keep" gate the GRU keeps about a fifth of the
  gradient over 50 steps and the LSTM loses none. That is why encoder–decoders
  use gated cells.

Slide through the radii:
""")
code(r"""
def radius_figure(radius):
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for r in radii:
        if r != radius:
            ax.semilogy(t, norms[r], color="0.8", lw=1)
    ax.semilogy(t, norms[radius], color="#d9480f", lw=2.5)
    ax.set(xlabel="t", ylabel=r"$\|\partial h_{50} / \partial h_t\|$",
           ylim=(1e-17, 1e4), title=f"spectral radius {radius:g}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    g = norms[radius]
    small = np.nonzero(g[::-1] < 1e-3)[0]     # steps back from t = 50
    readout = {
        "‖∂h_50/∂h_0‖": float(g[0]),
        "factor per step": round(per_step(g), 3),
        "steps until < 1e-3 is left":
            int(small[0]) if len(small) else "never (in 50 steps)",
    }
    return fig, readout

PrecomputedView.from_function(radii, radius_figure, label="spectral radius",
                              index=3)
""")
md(r"""
**And the trained encoder?** Training did teach the GRU's gates to keep the
gradient: run the same probe through the encoder of section 3, along the longest
test sentence.
""")
code(r"""
longest = max(data.test, key=lambda e: len(e.source))
ids = torch.tensor(data.src_vocab.encode(longest.source))      # (S,)
embedded = model.encoder.embed(ids).detach()                    # (S, E)
trained = gradient_norms(model.encoder.rnn, embedded).numpy()   # (S + 1,)
print(f"trained encoder, {len(longest.source)} words: "
      f"||dh_S/dh_0|| = {trained[0]:.2g} (min over t {trained.min():.2g})")
assert trained.min() > 1e-2
""")
md(r"""
Over a whole 40-word sentence the trained encoder's gradient does not vanish:
it stays above $10^{-2}$ at every step (printed above). So in the trained
model the gradient does reach the first words — and still the model is lost on
long sentences. What remains
is the bottleneck itself: all the words must share one vector of 128 numbers,
and the words written in last have crowded out the ones read first.

## 5. One hidden state — really enough?

The note this book follows asks it plainly, and this chapter's numbers answer **no**:

* a GRU encoder–decoder with a 128-number state translates sentences of 4 to 10
  words mostly correctly, and gets only about one word in six right on sentences
  of 31 to 40 words, never a whole one (section 3);
* it remembers the last few words it read and little before them;
* eight times more numbers in the state, or about seven times more training
  sentences, buy a lot on short sentences and little on long ones;
* a vanilla RNN's gradient through 50 steps shrinks to $10^{-16}$ at radius 0.5
  or grows at 1.5; gates fix that, and the long sentences still fail.

Yet the encoder *had* computed one vector per source word — the annotations of
section 2 — and the decoder threw them away. **Attention** keeps them: at every
output step the decoder scores all the annotations against its current state,
turns the scores into weights with a softmax, and reads their weighted mean
({doc}`chapter 0 <00_reading_attention>`). The path from any source word to any
output word is then one step long, whatever the sentence length
{cite}`bahdanau2015neural`. Chapter 3 trains exactly that on the very same data
(`make_reorder_data`) and redraws this chapter's accuracy-by-length curve.

## Summary

* A **vanilla RNN** keeps one hidden vector and updates it word by word,
  $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$; the package's
  from-scratch version matches `torch.nn.RNN` to $10^{-6}$. A plain RNN maps $T$
  inputs to $T$ outputs, each depending only on the words so far.
* The **encoder–decoder** {cite}`cho2014learning,sutskever2014sequence` reads the
  whole source into its last hidden state and writes the translation from that
  one vector, word by word.
* **The bottleneck, measured:** accuracy falls with every length bucket, from
  close to nine words in ten to about one in six; a bigger state or more
  training helps the short sentences, not the long ones.
* **Gradients through time** shrink or grow geometrically, roughly like the
  spectral radius of $W_{hh}$ to the power of the distance; at radius 0.5 about
  $10^{-16}$ survives 50 steps. Gated cells (GRU, LSTM) can learn to keep it.
* One fixed-size state is not enough; attention keeps every annotation and looks
  back at them (chapter 3).

## Exercises

**1.** The task reverses the sentence. Without running anything: could the plain
RNN of section 1, trained well, translate *red cat sees old dog* →
*chien vieux voit chat rouge* word by word? Why not?

```{admonition} Solution
:class: dropdown
No. Its first output $y_1$ depends only on $x_1$ = *red* (section 1 checked that
changing the last input leaves $y_1$ unchanged), but the first target word is
*chien*, the translation of the **last** source word. A plain RNN can only
produce outputs that depend on what it has already read. The encoder–decoder
waits until it has read everything.
```

**2.** Is 128 numbers simply too little to store a 40-word sentence from a
24-word lexicon? Count the bits.

```{admonition} Solution
:class: dropdown
Each word is one of 24, i.e. $\log_2 24 \approx 4.6$ bits, so 40 words are about
183 bits. 128 floating-point numbers are 4,096 bits: in principle plenty. The
trouble is that the network has to *learn* to write each word into the state
without overwriting the others, and to read them back out in order, through
dozens of nonlinear steps. Section 3 shows it does not learn that: it keeps the
last few words and blurs the rest. Attention sidesteps the problem by never
squeezing the words into one vector.
```

**3.** Train the same model on `ReorderConfig(reorder="identity")` (the target
keeps the source order) instead of the reversal. Predict first: better or worse?

```{admonition} Solution
:class: dropdown
`make_reorder_data(ReorderConfig(reorder="identity"))`, then the training cell
of section 3. It is **worse**, already on short sentences (in our run with
seed 0, token accuracy on 4–10 words was about 0.7 instead of about 0.9, and
exact match about 0.4 instead of about 0.7): the first target word was read longest ago, so every
word has to survive the whole sentence in the state. {cite:t}`sutskever2014sequence`
reversed their source sentences for this reason: it puts the first words to
translate closest to the decoder.
```

**4.** From the table of section 4, predict after how many steps a radius-0.9
RNN has lost a factor of 1,000 of its gradient, then check it with the slider.

```{admonition} Solution
:class: dropdown
The table's factor per step is about 0.84 (it moves a little with the seed),
and $0.84^k = 10^{-3}$ gives $k = \ln 10^{-3} / \ln 0.84 \approx 40$ steps. The
slider's readout "steps until < 1e-3 is left" agrees within a few steps — the
decay is not exactly geometric, because $\tanh'$ changes along the sequence.
```

**5.** Use `gated_rnn_gradient_norms("gru", memory_bias=b)` for
$b = 0, 1, 2, 3, 5$. How does $\lVert \partial h_{50} / \partial h_0 \rVert$
change, and why?

```{admonition} Solution
:class: dropdown
`[gated_rnn_gradient_norms("gru", memory_bias=b)[0] for b in (0, 1, 2, 3, 5)]`
rises steeply, from about $10^{-9}$ at $b = 0$ through about $10^{-4}$ and
$10^{-2}$ to about 0.8 at $b = 5$ (seed 0). The bias pushes the update gate $z$
towards 1, and the GRU's new state is $h' = (1 - z)\, n + z\, h$: the old state
is copied almost unchanged, so the Jacobian is close to the identity and the
product over 50 steps barely shrinks. The same idea is behind initialising an
LSTM's forget-gate bias to 1 or more.
```
""")
build(cells, "/work/main/chapters/01_rnn_bottleneck.ipynb")
