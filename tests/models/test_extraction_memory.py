"""Extraction holds one layer's token attention at a time, never all layers'.

A 65B model fits where its weights fit only if capture does not keep ``output_attentions``
of every layer. Measured in a fresh interpreter (its peak resident memory, reset to the
current one just before extraction through ``/proc/self/clear_refs``): a model of many
layers reads long sentences, so all layers' token-level attention would be several times
what one layer's is. Two depths are measured: the peak rise during extraction must not
grow with the depth beyond the word-level result (a model that kept every layer's token
attention would add one layer's worth per layer), and must stay within the result plus a
few copies of one layer's token attention (eager attention materialises the scores, the
masked scores and their softmax of the layer it runs) plus a fixed slack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from readalike.models.extraction import extract_attention

torch.manual_seed(0)
torch.set_num_threads(1)
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
layers, heads, batch, n_words = int(sys.argv[2]), 8, 2, 140
config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                     num_hidden_layers=layers, num_attention_heads=heads,
                     num_key_value_heads=heads, max_position_embeddings=2048,
                     attn_implementation="eager")
model = LlamaForCausalLM(config).eval()
words = ("the readers look back at short words and skip the frequent ones " * 20).split()
sentences = [words[i : i + n_words] for i in range(batch)]
extract_attention(model, tokenizer, [words[:5]], "", batch_size=1, progress=False)  # warm up
tokens = max(len(tokenizer(" ".join(s))["input_ids"]) for s in sentences) + 1
def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))
# reset the peak (VmHWM) to the current RSS: a peak left by the imports or the model's
# construction would otherwise hide a smaller rise during extraction
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS:")
out = extract_attention(model, tokenizer, sentences, "", batch_size=batch, progress=False)
peak = status("VmHWM:")
print(json.dumps({
    "rise": peak - before,
    "one_layer": batch * heads * tokens * tokens * 4,
    "layers": layers,
    "result": sum(a.nbytes for a in out),
}))
"""


def _measure(tokenizer_dir, layers: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tokenizer_dir), str(layers)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "workflow"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_capture_holds_one_layer_of_token_attention(tiny_tokenizer_dir):
    shallow, deep = _measure(tiny_tokenizer_dir, 8), _measure(tiny_tokenizer_dir, 32)
    one_layer = deep["one_layer"]
    extra_layers = deep["layers"] - shallow["layers"]
    # what keeping every layer's token attention would add between the two depths
    kept = extra_layers * one_layer
    growth = (deep["rise"] - deep["result"]) - (shallow["rise"] - shallow["result"])
    assert growth < kept / 4, (shallow, deep)
    # and the absolute bound: result + a few copies of one layer + slack
    assert deep["rise"] <= deep["result"] + 6 * one_layer + 64 * 2**20, deep
    assert kept > 6 * one_layer + 64 * 2**20  # the bound can fail: retention would break it
