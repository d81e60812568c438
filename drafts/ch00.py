import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
from nbbuild import build, INSTALL
cells = []
md = lambda s, *t: cells.append(("md", s, t))
code = lambda s, *t: cells.append(("code", s, t))

md(r"""
# 0. Reading an attention map

Before any network is trained, this chapter takes attention apart by hand: four
word vectors, a table of dot products, a softmax, and a weighted mean. By the end
you can read every attention map in the rest of the book.

```{admonition} Learning goals
:class: tip
After this chapter you can

1. say, with a measured example, why squeezing a whole sentence into one vector
   loses information — and how keeping every word and *looking things up* avoids it;
2. compute an attention matrix by hand: scores → softmax → weights → weighted mean;
3. read an attention map: what a **row** means (one query's distribution over the
   keys, summing to 1) and what a **column** means;
4. explain softmax as a "soft arg-max", and how a **temperature** moves attention
   between *hard* (one-hot) and *soft* (spread out).
```
""")
code(INSTALL)
code(r"""
import numpy as np
import torch
import matplotlib.pyplot as plt

import attnbook
from attnbook.attention import scaled_dot_product_attention
from attnbook.data.toy import HELLO_TOKENS, hello_vectors, random_vocabulary, bag_recall, attention_recall
from attnbook.viz import attention_heatmap

seed = attnbook.seed_everything()   # reads ATTNBOOK_SEED, default 0
print("seed", seed)
""")
md(r"""
## 1. One vector for a whole sentence is not enough

The first neural translators {cite}`sutskever2014sequence,cho2014learning` read a
sentence into a fixed-size vector. How much of a sentence survives that squeeze?
A clean way to measure it: give every word of a 2,000-word vocabulary a random
64-dimensional unit vector, summarise a sentence by **adding up** its word
vectors, then try to read the words back — take the vocabulary words whose
vectors point most in the summary's direction.

Then do the opposite: **keep every word's vector**, and find one word again by
*attention* — use its vector as a query, score it against every word of the
sentence, and see where the arg-max of the softmax lands.
""")
code(r"""
g = torch.Generator().manual_seed(seed)
vocab = random_vocabulary(2000, 64, generator=g)          # (V, D) = (2000, 64)
lengths = [2, 5, 10, 20, 50, 100]
squeezed = {n: bag_recall(vocab, n, trials=200, generator=g) for n in lengths}
looked_up = {n: attention_recall(vocab, n, trials=200, generator=g) for n in lengths}

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(lengths, [squeezed[n] for n in lengths], "o-", label="one summary vector (sum)")
ax.plot(lengths, [looked_up[n] for n in lengths], "s-", label="all vectors kept, looked up by attention")
ax.plot(lengths, [n / len(vocab) for n in lengths], ":", color="grey", label="chance")
ax.set_xscale("log"); ax.set_xlabel("sentence length (words)"); ax.set_ylabel("words recovered")
ax.set_ylim(0, 1.05); ax.legend(fontsize=8); ax.set_title("64 numbers cannot hold a long sentence")
fig.tight_layout()
for n in lengths:
    print(f"{n:4d} words: summary recovers {squeezed[n]:.2f}, "
          f"attention finds {looked_up[n]:.2f}")
""")
code(r"""
# The claims of the paragraph below, checked.
assert squeezed[2] >= 0.99
assert squeezed[20] < 0.35 and squeezed[100] < 0.25
assert all(looked_up[n] == 1.0 for n in lengths)
""")
md(r"""
With two words the summary gives both back; by twenty words it recovers only about
a quarter of them, and it never gets much better than that however long the sentence
(the exact numbers are printed above; they move a little with the seed, and the
cell above checks the shape of the result). Kept separately, every word is found
again at every length.

A sum also forgets **order** completely: "dog bites man" and "man bites dog" get
the same summary.
""")
code(r"""
words = {w: vocab[i] for i, w in enumerate(["dog", "bites", "man"])}
dog_bites_man = words["dog"] + words["bites"] + words["man"]
man_bites_dog = words["man"] + words["bites"] + words["dog"]
assert torch.allclose(dog_bites_man, man_bites_dog)
print("identical summaries:", torch.allclose(dog_bites_man, man_bites_dog))
""")
md(r"""
A recurrent network's final state is a far cleverer summary than a sum — it does
keep order — but it is still a fixed number of values for a sentence of any length.
Chapter 1 measures what that costs a real encoder–decoder. **Attention** is the
way out shown by the second curve: keep one vector per word, and let the model
*zoom in* on the few it needs at each step, or *zoom out* over many.

## 2. "Hello I love you": an attention table by hand

Take the four words of *Hello I love you* and give each a 4-dimensional vector. The
dimensions are made up for the example — loosely *greeting*, *person*,
*addressee* and *feeling* — so that "I" and "you" share the person direction and
"love" connects to both.
""")
code(r"""
X = hello_vectors()            # (T, D) = (4, 4): one row per word
tokens = HELLO_TOKENS
print(tokens)
print(X)
""")
md(r"""
**Step 1, scores.** How relevant is word $j$ to word $i$? The simplest score is the
dot product $e_{ij} = x_i \cdot x_j$: large when the vectors point the same way.
All sixteen at once are one matrix product, $E = X X^\top$.

**Step 2, softmax.** Turn each row of scores into weights that are positive and
sum to one:

$$\alpha_{ij} = \frac{\exp(e_{ij})}{\sum_{j'} \exp(e_{ij'})}.$$

**Step 3, weighted mean.** Word $i$'s new vector is $z_i = \sum_j \alpha_{ij} x_j$:
a mix of all the words, in the proportions its row of weights says.
""")
code(r"""
scores = X @ X.T                           # (T, T) dot products
weights = torch.softmax(scores, dim=-1)    # (T, T) each row sums to 1
Z = weights @ X                            # (T, D) weighted means

# The package's attention computes exactly this
# (scale=1: no 1/sqrt(d) yet; chapter 5 explains it).
Z_pkg, weights_pkg = scaled_dot_product_attention(X, X, X, scale=1.0)
assert torch.allclose(weights, weights_pkg, atol=1e-6)
assert torch.allclose(Z, Z_pkg, atol=1e-6)
assert torch.allclose(weights.sum(-1), torch.ones(4))

fig = attention_heatmap(weights.numpy(), tokens, tokens,
                        title="Hello I love you: who attends to whom")
""")
code(r"""
from attnbook.widgets import AttentionMatrixView

AttentionMatrixView(weights.numpy(), tokens, title="Hover a cell, a row or a word; click to pin")
""")
md(r"""
## 3. How to read an attention map

Every attention map in this book is drawn the same way: **queries on the rows,
keys on the columns**.

* **A row** answers *"where does this word look?"*. Row $i$ is a probability
  distribution over the keys: its entries are between 0 and 1 and **sum to 1**.
  Reading across the row "love", the largest weight is on "love" itself, then
  "you", then "I", and "Hello" gets the least.
* **A column** answers *"who looks at this word?"*. Columns do **not** sum to
  anything in particular: a word can be popular (a column sum above 1) or ignored
  (below 1).
* **The output** for row $i$ is the weighted mean $z_i = \sum_j \alpha_{ij} x_j$;
  a row close to one-hot copies one word's vector, a flat row averages them all.
""")
code(r"""
row_sums = weights.sum(dim=1)       # (T,) always 1
col_sums = weights.sum(dim=0)       # (S,) anything
for tok, r, c in zip(tokens, row_sums, col_sums):
    print(f"{tok:>6}: row sums to {r:.3f}   column sums to {c:.3f}")

assert torch.allclose(row_sums, torch.ones(4))
assert col_sums.max() > 1.0 > col_sums.min()          # a popular key and a neglected one
order = [tokens[j] for j in weights[tokens.index("love")].argsort(descending=True)]
assert order == ["love", "you", "I", "Hello"], order  # the row read out in the text above
most_popular, least_popular = tokens[int(col_sums.argmax())], tokens[int(col_sums.argmin())]
print("most attended-to word:", most_popular, "| least:", least_popular)
""")
md(r"""
Here every word attends most to **itself**: with raw dot products, a vector always
agrees best with itself. This is one reason the Transformer (chapter 5) first maps
each word to separate *query* and *key* vectors, so that a word can look for
something other than its own reflection.

## 4. Softmax is a *soft* arg-max: temperature, hard and soft attention

Divide the scores by a **temperature** $\tau$ before the softmax,
$\alpha_{ij} \propto \exp(e_{ij} / \tau)$. As $\tau \to 0$ the largest score
wins everything: each row becomes one-hot, the arg-max — **hard attention**,
which looks at exactly one input. As $\tau$ grows the weights flatten towards
uniform — the model looks at everything equally and the output becomes a plain
average. In between is **soft attention**: mostly on a few inputs, a little on
the rest, and differentiable, so it can be trained by gradient descent.
""")
code(r"""
temperatures = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 20.0]

def tempered(tau):
    return torch.softmax(scores / tau, dim=-1)            # (T, T)

def entropy(w):                                             # mean over rows, in nats
    return float(-(w * w.clamp_min(1e-12).log()).sum(-1).mean())

fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
for ax, tau in zip(axes, [0.05, 1.0, 20.0]):
    attention_heatmap(tempered(tau).numpy(), tokens, tokens, ax=ax,
                      title=f"τ = {tau:g}")
fig.suptitle("Temperature: hard (left) → soft → uniform (right)")
fig.tight_layout()

hard = torch.nn.functional.one_hot(scores.argmax(-1), 4).float()   # arg-max attention
cold, hot = tempered(0.05), tempered(20.0)
print(f"τ=0.05: smallest row maximum {cold.max(-1).values.min():.3f}; "
      f"τ=20: largest distance from 1/4 {(hot - 0.25).abs().max():.3f}")
assert (cold.argmax(-1) == hard.argmax(-1)).all() and cold.max(-1).values.min() > 0.95
assert (hot - 0.25).abs().max() < 0.02
assert all(entropy(tempered(a)) < entropy(tempered(b)) for a, b in zip(temperatures, temperatures[1:]))
""")
md(r"""
At $\tau = 0.05$ every row puts more than 95 % of its weight on one word — the
arg-max, hard attention; at $\tau = 20$ every weight is within 0.02 of the uniform
$1/4$; and the entropy of the rows (how spread out they are) grows steadily with
$\tau$. Slide through the temperatures:
""")
code(r"""
from attnbook.widgets import PrecomputedView

def temperature_figure(tau):
    w = tempered(tau)
    fig = attention_heatmap(w.numpy(), tokens, tokens, title=f"temperature τ = {tau:g}")
    fig.set_size_inches(4.8, 3.4)
    readout = {
        "largest weight in the smallest row": round(float(w.max(-1).values.min()), 3),
        "mean row entropy (nats; uniform = 1.386)": round(entropy(w), 3),
    }
    return fig, readout

PrecomputedView.from_function(temperatures, temperature_figure, label="temperature τ", index=4)
""")
md(r"""
Chapter 2 trains both kinds on images: *soft* attention takes the weighted mean
and is trained like any network; *hard* attention samples one region from the
weights, which is not differentiable and needs a different kind of gradient.

## 5. The same weights, as shaded text

Text is where attention maps are most often shown: the words a query looks at are
shaded darker. Pick a query word to see its row of the matrix painted on the
sentence.
""")
code(r"""
from attnbook.widgets import TextAttentionView

TextAttentionView.from_examples(
    [{"sentences": [tokens], "word_weights": [weights[i].numpy()],
      "name": f'what "{w}" looks at'} for i, w in enumerate(tokens)],
    example_label="query", title="Darker words get more attention",
)
""")
md(r"""
## Summary

* Squeezing a sentence into one fixed-size vector loses words as the sentence
  grows (measured above: about a quarter of the words survive at twenty words)
  and loses word order entirely for a sum. Keeping one vector per word and
  *looking things up* with attention recovers every word.
* Attention is three steps: **scores** between a query and every key, a
  **softmax** that turns each row of scores into weights summing to 1, and a
  **weighted mean** of the values.
* In an attention map, **rows are queries** (each a distribution, summing to 1)
  and **columns are keys** (sums say how popular a word is).
* Softmax is a soft arg-max. A **temperature** moves it from **hard** attention
  (one-hot) to uniform; trained models live in between.

Next, chapter 1 measures what the one-vector bottleneck costs a real recurrent
encoder–decoder — the problem that attention was invented to solve
{cite}`bahdanau2015neural`.

## Exercises

**1.** Without running code: if every word vector were scaled by 10, what would
happen to the attention weights of "Hello I love you"?

```{admonition} Solution
:class: dropdown
The dot products grow by a factor of 100, which is the same as dividing by a
temperature of 0.01: the weights become (almost exactly) one-hot — each word
attends only to itself. Check it: `torch.softmax(100 * scores, -1)`. This is why
the Transformer divides its scores by $\sqrt{d}$ (chapter 5): without it, large
vectors make attention hard and its gradients vanish.
```

**2.** Add a fifth word, "Hello", again at the end of the sentence. How does the
row of "I" change, and what do the two "Hello" columns get?

```{admonition} Solution
:class: dropdown
The two "Hello" keys have identical vectors, so they receive identical weights
in every row, and between them they take more of each row's mass than one
"Hello" did; the other weights shrink so the row still sums to 1:
`Xp = torch.cat([X, X[:1]]); torch.softmax(Xp @ Xp.T, -1)`.
Attention has no notion of position: the duplicate is indistinguishable from
the original. Chapter 5 adds positional encodings for exactly this reason.
```

**3.** The summary-vector experiment used 64 dimensions. Predict, then measure
with `bag_recall`, how many dimensions a sum needs before it recovers 90 % of a
20-word sentence.

```{admonition} Solution
:class: dropdown
Each word's dot product with the sum is about 1 plus noise from the other 19
words (standard deviation about $\sqrt{19/d}$), and it has to beat the largest
of ~2,000 noise scores. Measuring: `bag_recall(random_vocabulary(2000, d), 20)`
for d in 64, 128, 256, 512 — recall is about 0.5 at 128 and passes 0.9 only between 256 and 512 dimensions. A
fixed vector can hold more words only by growing, and it never keeps their order.
```

**4.** Write hard attention for the "Hello I love you" table: replace each row by
the one-hot vector of its arg-max. What is the output $Z$ then?

```{admonition} Solution
:class: dropdown
`hard = torch.nn.functional.one_hot(scores.argmax(-1), 4).float(); hard @ X`.
Every word picks itself, so $Z = X$: hard attention with raw dot products copies
the input. Soft attention mixes in the other words.
```
""")
build(cells, "/work/main/chapters/00_reading_attention.ipynb")
