#!/usr/bin/env python3
"""Reference data for Phoenix's model runtime, computed by Hugging Face transformers and llama.cpp.

Everything written here comes from those two references; nothing is edited by hand.

    model_goldens.py versions         print the versions of every reference component
    model_goldens.py gemma-hf         transformers (float32, eager) on the default Gemma 3 270M GGUF:
                                      prompt ids, greedy 32 tokens with per-step margins, final-position
                                      top-10 log-probabilities and full final-position logits
    model_goldens.py gemma-llamacpp   llama.cpp (llama-server on 127.0.0.1) on the same prompt ids:
                                      tokenizer ids, greedy 32 tokens with per-step top logprobs
    model_goldens.py gemma-llamacpp-f32
                                      the same through llama.cpp with the GGUF's weights dequantized to float32
                                      by gguf-py (isolates llama.cpp's quantized-activation arithmetic)
    model_goldens.py compare          agreement of the references (reads the files above)
    model_goldens.py perplexity       llama-perplexity on the GPL-3 text (and the same windows in transformers)
    model_goldens.py tiny             tiny seeded llama / qwen2 / qwen3 models: transformers -> safetensors ->
                                      convert_hf_to_gguf.py (f32) -> GGUF fixtures + transformers logits
                                      (--only NAME, repeatable, limits it to those models, e.g. qwen2-yarn)
    model_goldens.py all              every step above, in order

Outputs go to Tests/Fixtures/models/ (override with --out). The model is
$PHOENIX_MODEL or ~/.cache/phoenix/gemma-3-270m-q4_k_m.gguf (Scripts/install-model.sh puts it there).
llama.cpp comes from .references/ (Scripts/build-llamacpp.sh): binaries in .references/llama.cpp-build/bin,
the converter in .references/llama_cpp_python-*/vendor/llama.cpp. Threads: $GOLDENS_THREADS (default 2).
"""
import argparse
import glob
import hashlib
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFS = ROOT / ".references"
BIN = REFS / "llama.cpp-build" / "bin"
DEFAULT_OUT = ROOT / "Tests" / "Fixtures" / "models"
CACHE = Path(os.environ.get("PHOENIX_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "phoenix"))
MODEL = Path(os.environ.get("PHOENIX_MODEL", CACHE / "gemma-3-270m-q4_k_m.gguf"))
GPL3 = Path("/usr/share/common-licenses/GPL-3")
THREADS = int(os.environ.get("GOLDENS_THREADS", "2"))
# Extra flags for every llama.cpp binary. `-nr` (--no-repack) turns weight repacking off: with it on, a
# GGML_NATIVE build on a CPU that advertises AMX runs the AMX tile kernels, which die with SIGILL (tilezero) on
# the virtual machines this project uses. Override with GOLDENS_LLAMA_FLAGS="" where AMX works.
LLAMA_FLAGS = os.environ.get("GOLDENS_LLAMA_FLAGS", "-nr").split()

N_NEW = 32          # greedy tokens per prompt
TOP_K = 10          # final-position top-k recorded
NEAR_TIE = 0.3      # a step whose best two logits are closer than this ends the exact-match comparison
FULL_LOGITS_ROWS = 20  # prompts whose whole final-position logits vector is stored (float16)

# 24 prompts. The first FULL_LOGITS_ROWS also have their full final-position logits stored.
PROMPTS = [
    ("capital", "The capital of France is"),
    ("story", "Once upon a time, in a small village by the sea, there lived an old fisherman who"),
    ("python", 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n'),
    ("list", "Shopping list:\n1. Milk\n2. Eggs\n3."),
    ("question", "What is the boiling point of water at sea level?"),
    ("numbers", "1, 2, 3, 5, 8, 13, 21,"),
    ("french", "La vie est belle quand"),
    ("japanese", "日本の首都は"),
    ("word-hello", "Hello"),
    ("word-photosynthesis", "Photosynthesis"),
    ("arithmetic", "Question: What is 12 times 7?\nAnswer:"),
    ("json", '{"name": "Alice", "age": 30, "city":'),
    ("swift", "func greet(name: String) -> String {\n    return"),
    ("poem", "Roses are red,\nViolets are blue,\n"),
    ("russian", "Москва — столица"),
    ("emoji", "I love pizza 🍕 because"),
    ("table", "Name:\tJohn\nAge:\t42\nName:\tMary\nAge:"),
    ("chat-turn", "<start_of_turn>user\nWrite a haiku about autumn.<end_of_turn>\n<start_of_turn>model\n"),
    ("long-paragraph",
     "The history of computing is a story of steady abstraction. Early machines were programmed by rewiring "
     "panels and flipping switches, and every calculation required an operator who understood the hardware in "
     "detail. The stored-program computer changed that: instructions became data, held in the same memory as "
     "the numbers they operated on, and a program could be loaded, modified and run without touching a single "
     "cable. Assembly languages gave names to machine instructions, and compilers soon translated whole "
     "formulas into those instructions automatically. Operating systems took over the scheduling of jobs, the "
     "management of memory and the handling of devices, so that programmers could think about their problems "
     "instead of about the machine. Each layer hid the one below it, and each made it possible for more people "
     "to write software that mattered. Today a student can write a few lines of code that run on a processor "
     "with billions of transistors, and never once"),
    ("german", "Der schnellste Weg von München nach Berlin ist"),
    # Greedy and top-10 only (no full logits row):
    ("word-the", "The"),
    ("chinese", "我最喜欢的食物是"),
    ("spanish", "¿Dónde está la biblioteca? Está"),
    ("html", "<!DOCTYPE html>\n<html>\n<head>\n  <title>"),
]


# ----------------------------------------------------------------------------------------------------------
# Versions


def pkg(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def llama_source_tree():
    trees = sorted(glob.glob(str(REFS / "llama_cpp_python-*" / "vendor" / "llama.cpp")))
    trees = [t for t in trees if os.path.isdir(t)]
    return Path(trees[-1]) if trees else None


def llama_binary_version():
    exe = BIN / "llama-server"
    if not exe.exists():
        return None
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip()
    m = re.search(r"build (\d+), commit ([0-9a-f]+)", text)
    return {"text": text, "build_number": int(m.group(1)) if m else None, "commit": m.group(2) if m else None}


def versions():
    tree = llama_source_tree()
    commit = None
    if tree is not None:
        r = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
        commit = r.stdout.strip() or None
    built_from = None
    if (REFS / "llama.cpp-build" / "SOURCE").exists():
        built_from = (REFS / "llama.cpp-build" / "SOURCE").read_text().strip()
    return {
        "python": platform.python_version(),
        "torch": pkg("torch"),
        "transformers": pkg("transformers"),
        "accelerate": pkg("accelerate"),
        "tokenizers": pkg("tokenizers"),
        "sentencepiece": pkg("sentencepiece"),
        "safetensors": pkg("safetensors"),
        "gguf": pkg("gguf"),
        "numpy": pkg("numpy"),
        "llama_cpp_python_sdist": tree.parents[1].name if tree is not None else None,
        "llama_cpp_source_commit": commit,
        "llama_cpp_build_source": built_from,
        "llama_cpp_binary": llama_binary_version(),
        "machine": f"{platform.system()} {platform.machine()}",
    }


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_info():
    return {"file": MODEL.name, "sha256": sha256(MODEL), "bytes": MODEL.stat().st_size}


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def script_command(args):
    return "python3 Scripts/goldens/model_goldens.py " + " ".join(args)


# ----------------------------------------------------------------------------------------------------------
# Gemma 3 in transformers


def load_gemma_hf():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(THREADS)
    tok = AutoTokenizer.from_pretrained(str(MODEL.parent), gguf_file=MODEL.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(MODEL.parent), gguf_file=MODEL.name, dtype=torch.float32, attn_implementation="eager"
    )
    model.eval()
    return tok, model


def top2(logits):
    values, indices = logits.topk(2)
    return int(indices[0]), float(values[0]), int(indices[1]), float(values[1])


def gemma_hf(out):
    import numpy as np
    import torch
    from transformers import DynamicCache

    tok, model = load_gemma_hf()
    results = []
    rows = []
    for index, (name, text) in enumerate(PROMPTS):
        ids = tok(text).input_ids
        assert ids[0] == tok.bos_token_id == 2, ids[:3]
        with torch.no_grad():
            cache = DynamicCache(config=model.config)
            out_ = model(torch.tensor([ids]), past_key_values=cache, use_cache=True)
            cache = out_.past_key_values
            logits = out_.logits[0, -1].float()
            final = logits.clone()
            generated, runner_up, margins, best_logits = [], [], [], []
            for step in range(N_NEW):
                a, va, b, vb = top2(logits)
                generated.append(a)
                runner_up.append(b)
                best_logits.append(va)
                margins.append(va - vb)
                if step + 1 == N_NEW:
                    break
                out_ = model(torch.tensor([[a]]), past_key_values=cache, use_cache=True)
                cache = out_.past_key_values
                logits = out_.logits[0, -1].float()
        logprobs = torch.log_softmax(final.double(), dim=-1)
        lp_values, lp_ids = logprobs.topk(TOP_K)
        row = None
        if index < FULL_LOGITS_ROWS:
            row = len(rows)
            rows.append(final.numpy().astype(np.float32))
        near = [i for i, m in enumerate(margins) if m < NEAR_TIE]
        entry = {
            "name": name,
            "text": text,
            "prompt_ids": ids,
            "generated_ids": generated,
            "generated_text": tok.decode(generated),
            "runner_up_ids": runner_up,
            "best_logits": best_logits,
            "margins": margins,
            "first_near_tie_step": near[0] if near else None,
            "final_top10": [{"id": int(i), "logprob": float(v)} for i, v in zip(lp_ids, lp_values)],
            "final_logits_row": row,
            "final_logits_stats": {"max": float(final.max()), "min": float(final.min()),
                                   "mean": float(final.double().mean()), "l2": float(final.double().norm())},
        }
        results.append(entry)
        print(f"[{index:2d}] {name:22s} {len(ids):4d} prompt tokens  min margin {min(margins):.4f}  "
              f"near-tie step {entry['first_near_tie_step']}  {entry['generated_text'][:60]!r}", flush=True)

    mat = np.stack(rows).astype("<f2")
    logits_path = out / "gemma3-final-logits.f16"
    mat.tofile(logits_path)
    print(f"wrote {logits_path} ({logits_path.stat().st_size} bytes)")
    # float16 rounding error of the stored rows, for the record
    err = float(np.max(np.abs(mat.astype(np.float32) - np.stack(rows))))
    write_json(out / "gemma3-transformers.json", {
        "reference": "Hugging Face transformers, AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, "
                     "dtype=torch.float32, attn_implementation='eager'); weights dequantized to float32 by "
                     "transformers' GGUF loader; greedy decoding with a DynamicCache, one token per step",
        "command": script_command(["gemma-hf"]),
        "model": model_info(),
        "versions": versions(),
        "tokenizer": "AutoTokenizer.from_pretrained(folder, gguf_file=name); text encoded with BOS (id 2)",
        "n_new": N_NEW,
        "near_tie": NEAR_TIE,
        "margin": "best logit minus second-best logit at that step (raw logits, float32)",
        "final_logits_file": logits_path.name,
        "final_logits_format": {"dtype": "float16", "byte_order": "little", "shape": [len(rows), mat.shape[1]],
                                "order": "row-major; row r = the prompt whose final_logits_row is r",
                                "max_abs_float16_rounding_error": err},
        "prompts": results,
    })


# ----------------------------------------------------------------------------------------------------------
# llama.cpp server


# llama-server flags for float32 attention: a float32 K/V cache and no flash attention (the CPU flash-attention
# kernel rounds to float16, which moves logprobs by ~1e-2 on the tiny models; with these flags they agree with
# transformers to ~1e-5)
FLOAT32_SERVER = ["-ctk", "f32", "-ctv", "f32", "-fa", "off"]


class Server:
    """llama-server on 127.0.0.1 with a free port; stopped on exit."""

    def __init__(self, model, ctx=2048, extra=()):
        exe = BIN / "llama-server"
        if not exe.exists():
            sys.exit(f"{exe} is missing: run Scripts/build-llamacpp.sh")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.args = [str(exe), "-m", str(model), "--host", "127.0.0.1", "--port", str(self.port),
                     "-t", str(THREADS), "-np", "1", "-c", str(ctx), "--no-webui", *LLAMA_FLAGS, *extra]
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"llama-server exited ({self.proc.returncode}); log: {self.log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                    if r.status == 200:
                        return self
            except Exception:
                pass
            time.sleep(1)
        self.__exit__(None, None, None)
        sys.exit(f"llama-server did not become ready; log: {self.log.name}")

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def post(self, path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def command(self):
        # the command line with the repository-relative binary and a placeholder port
        args = ["llama-server"] + self.args[1:]
        args[args.index("--port") + 1] = "PORT"
        args[args.index("-m") + 1] = str(Path(self.args[2]).name)
        return " ".join(args)


def completion_request(ids, n_predict, n_probs):
    return {
        "prompt": ids,
        "n_predict": n_predict,
        "temperature": 0.0,
        "samplers": ["temperature"],
        "n_probs": n_probs,
        "post_sampling_probs": False,
        "cache_prompt": False,
        "return_tokens": True,
        "ignore_eos": False,
        "seed": 0,
    }


def dequantize_gguf(src, dst):
    """A copy of a GGUF file with every tensor dequantized to float32 by gguf-py (metadata unchanged but
    general.file_type = 0, ALL_F32)."""
    import gguf
    import numpy as np
    from gguf import GGUFReader, GGUFValueType, GGUFWriter

    reader = GGUFReader(src)
    writer = GGUFWriter(str(dst), reader.fields["general.architecture"].contents())
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name == "general.file_type":
            writer.add_uint32(name, int(gguf.LlamaFileType.ALL_F32))
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), kind, sub_type=sub)
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        writer.add_tensor(t.name, data.reshape([int(d) for d in reversed(t.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def gemma_llamacpp(out, f32=False):
    hf_path = out / "gemma3-transformers.json"
    if not hf_path.exists():
        sys.exit(f"{hf_path} is missing: run the gemma-hf step first (the same prompt ids are fed to llama.cpp)")
    hf = json.loads(hf_path.read_text())
    by_name = {p["name"]: p for p in hf["prompts"]}
    results = []
    model = MODEL
    tmp = None
    if f32:
        tmp = Path(tempfile.mkdtemp(prefix="phoenix-f32-"))
        model = tmp / (MODEL.stem + "-dequantized-f32.gguf")
        print(f"dequantizing {MODEL.name} to float32 with gguf-py into {model}", flush=True)
        dequantize_gguf(MODEL, model)
    with Server(model, extra=FLOAT32_SERVER if f32 else ()) as server:
        for index, (name, text) in enumerate(PROMPTS):
            hf_ids = by_name[name]["prompt_ids"]
            tok = server.post("/tokenize", {"content": text, "add_special": True, "parse_special": True})
            llama_ids = tok["tokens"]
            res = server.post("/completion", completion_request(hf_ids, N_NEW, TOP_K))
            assert res.get("tokens_evaluated", len(hf_ids)) == len(hf_ids), res.get("tokens_evaluated")
            probs = res["completion_probabilities"]
            generated = [p["id"] for p in probs]
            assert generated == res["tokens"], (generated, res["tokens"])
            tops = [p["top_logprobs"] for p in probs]
            argmax_ok = all(t[0]["id"] == g for t, g in zip(tops, generated))
            margins = [t[0]["logprob"] - t[1]["logprob"] for t in tops]
            near = [i for i, m in enumerate(margins) if m < NEAR_TIE]
            entry = {
                "name": name,
                "text": text,
                "prompt_ids": hf_ids,
                "llama_cpp_tokenizer_ids": llama_ids,
                "tokenizers_agree": llama_ids == hf_ids,
                "generated_ids": generated,
                "generated_text": res["content"],
                "stop_type": res.get("stop_type"),
                "runner_up_ids": [t[1]["id"] for t in tops],
                "best_logprobs": [t[0]["logprob"] for t in tops],
                "margins": margins,
                "first_near_tie_step": near[0] if near else None,
                "sampled_is_argmax": argmax_ok,
                "final_top10": [{"id": t["id"], "logprob": t["logprob"]} for t in tops[0]],
            }
            results.append(entry)
            print(f"[{index:2d}] {name:22s} tokenizers agree: {entry['tokenizers_agree']!s:5s} "
                  f"{len(generated):2d} tokens ({entry['stop_type']})  min margin {min(margins):.4f}  "
                  f"near-tie step {entry['first_near_tie_step']}  {res['content'][:50]!r}", flush=True)
        command = server.command()
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    weights = ("the GGUF's weights dequantized to float32 by gguf-py (gguf.quants.dequantize), so llama.cpp runs "
               "float32 matrix products instead of its quantized-activation dot products; float32 K/V cache, "
               "flash attention off" if f32 else
               "the Q4_K_M GGUF as it is, llama-server's default K/V cache (float16) and flash attention (auto)")
    write_json(out / ("gemma3-llamacpp-f32.json" if f32 else "gemma3-llamacpp.json"), {
        "reference": "llama.cpp llama-server /completion fed the transformers prompt ids (BOS included); "
                     "temperature 0 with samplers ['temperature'] (= argmax); n_probs 10 with "
                     "post_sampling_probs false, so logprobs are log-softmax of the raw logits; generation "
                     "stops early at an end-of-generation token (stop_type 'eos'). Weights: " + weights,
        "command": script_command(["gemma-llamacpp-f32" if f32 else "gemma-llamacpp"]),
        "server_command": command,
        "request": {k: v for k, v in completion_request([], N_NEW, TOP_K).items() if k != "prompt"},
        "model": model_info(),
        "versions": versions(),
        "near_tie": NEAR_TIE,
        "margin": "best logprob minus second-best logprob at that step (= difference of the raw logits)",
        "prompts": results,
    })


# ----------------------------------------------------------------------------------------------------------
# Agreement of the two references


def agreement(hf, lc):
    """Rows and summary of one llama.cpp run against the transformers run."""
    import numpy as np

    lc_by_name = {p["name"]: p for p in lc["prompts"]}
    rows = []
    for p in hf["prompts"]:
        q = lc_by_name[p["name"]]
        a, b = p["generated_ids"], q["generated_ids"]
        common = 0
        while common < min(len(a), len(b)) and a[common] == b[common]:
            common += 1
        # the comparison window ends at the first step where either reference has a near-tie
        ties = [s for s in (p["first_near_tie_step"], q["first_near_tie_step"]) if s is not None]
        window = min(ties + [len(a), len(b)])
        # top-10 agreement at the final prompt position, on the ids both lists hold
        lc_top = {t["id"]: t["logprob"] for t in q["final_top10"]}
        diffs = [abs(t["logprob"] - lc_top[t["id"]]) for t in p["final_top10"] if t["id"] in lc_top]
        rows.append({
            "name": p["name"],
            "tokenizers_agree": q["tokenizers_agree"],
            "identical_prefix": common,
            "compared_steps": window,
            "agree_up_to_first_near_tie": common >= window,
            "hf_first_near_tie_step": p["first_near_tie_step"],
            "llama_cpp_first_near_tie_step": q["first_near_tie_step"],
            "hf_min_margin": min(p["margins"]),
            "llama_cpp_min_margin": min(q["margins"]),
            "llama_cpp_tokens": len(b),
            "final_top10_same_ids": [t["id"] for t in p["final_top10"]] == [t["id"] for t in q["final_top10"]],
            "final_top10_common_ids": len(diffs),
            "final_top10_max_abs_logprob_diff": max(diffs) if diffs else None,
        })
    diffs = [r["final_top10_max_abs_logprob_diff"] for r in rows]
    summary = {
        "prompts": len(rows),
        "tokenizers_agree": sum(r["tokenizers_agree"] for r in rows),
        "agree_up_to_first_near_tie": sum(r["agree_up_to_first_near_tie"] for r in rows),
        "fully_identical_greedy": sum(r["identical_prefix"] == N_NEW == r["llama_cpp_tokens"] for r in rows),
        "identical_prefix_mean": float(np.mean([r["identical_prefix"] for r in rows])),
        "final_top10_same_ids": sum(r["final_top10_same_ids"] for r in rows),
        "max_final_top10_logprob_diff": max(diffs),
        "median_final_top10_logprob_diff": float(np.median(diffs)),
        "min_hf_margin": min(r["hf_min_margin"] for r in rows),
        "min_llama_cpp_margin": min(r["llama_cpp_min_margin"] for r in rows),
    }
    return rows, summary


def compare(out):
    hf = json.loads((out / "gemma3-transformers.json").read_text())
    result = {
        "what": "llama.cpp vs transformers on the same prompt ids: greedy ids compared up to the first step where "
                "either reference's best two logits are within near_tie; final-position top-10 logprobs compared "
                "on the ids both top-10 lists hold",
        "command": script_command(["compare"]),
        "near_tie": NEAR_TIE,
    }
    for key, file in (("llama_cpp_q4_k_m", "gemma3-llamacpp.json"), ("llama_cpp_f32", "gemma3-llamacpp-f32.json")):
        if not (out / file).exists():
            continue
        rows, summary = agreement(hf, json.loads((out / file).read_text()))
        print(f"== transformers vs {file}")
        for r in rows:
            print(f"{r['name']:22s} tok {'=' if r['tokenizers_agree'] else '≠'}  same {r['identical_prefix']:2d}"
                  f"/{r['compared_steps']:2d} before tie  ok={r['agree_up_to_first_near_tie']!s:5s}  "
                  f"top10 ids same={r['final_top10_same_ids']!s:5s} "
                  f"max|Δlogprob|={r['final_top10_max_abs_logprob_diff']:.4f}")
        print(json.dumps(summary, indent=1))
        result[key] = {"file": file, "summary": summary, "prompts": rows}
    write_json(out / "gemma3-reference-agreement.json", result)


# ----------------------------------------------------------------------------------------------------------
# Perplexity


def perplexity(out, contexts):
    exe = BIN / "llama-perplexity"
    if not exe.exists():
        sys.exit(f"{exe} is missing: run Scripts/build-llamacpp.sh")
    runs = []
    for n_ctx in contexts:
        args = [str(exe), "-m", str(MODEL), "-f", str(GPL3), "-c", str(n_ctx), "-t", str(THREADS), *LLAMA_FLAGS]
        print("running", " ".join(args), flush=True)
        t0 = time.time()
        r = subprocess.run(args, capture_output=True, text=True)
        text = r.stdout + r.stderr
        if r.returncode != 0:
            print(text[-3000:])
            sys.exit(f"llama-perplexity failed ({r.returncode})")
        m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", text)
        c = re.search(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)", text)
        chunks = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+),", text)]
        n_chunks, ctx = int(c.group(1)), int(c.group(2))
        runs.append({
            "command": " ".join(["llama-perplexity", "-m", MODEL.name, "-f", str(GPL3), "-c", str(n_ctx),
                                 "-t", str(THREADS), *LLAMA_FLAGS]),
            "n_ctx": ctx,
            "chunks": n_chunks,
            "batch_size": int(c.group(3)),
            "n_seq": int(c.group(4)),
            "scored_tokens": n_chunks * (ctx - ctx // 2 - 1),
            "ppl": float(m.group(1)),
            "ppl_stderr": float(m.group(2)),
            "running_ppl_after_each_chunk": chunks,
            "seconds": round(time.time() - t0, 1),
        })
        print(json.dumps(runs[-1]), flush=True)

    # Token count of the whole file with llama.cpp's tokenizer (BOS first), as llama-perplexity tokenizes it.
    text_tokens = None
    tk = BIN / "llama-tokenize"
    if tk.exists():
        r = subprocess.run([str(tk), "-m", str(MODEL), "-f", str(GPL3), "--ids", "--log-disable"],
                           capture_output=True, text=True)
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
        if line:
            text_tokens = len(json.loads(line[-1]))

    hf_runs = perplexity_hf(contexts)
    write_json(out / "gemma3-perplexity.json", {
        "reference": "llama.cpp llama-perplexity, default method: the file is tokenized once with BOS first; "
                     "non-overlapping windows of n_ctx tokens (chunks = tokens // n_ctx, the tail is dropped); "
                     "each window's first token is replaced by BOS; the logits at window positions "
                     "n_ctx/2 .. n_ctx-2 score the next token (n_ctx - n_ctx/2 - 1 tokens per window); "
                     "PPL = exp(mean negative log-likelihood over all scored tokens)",
        "command": script_command(["perplexity"] + [f"--ctx={c}" for c in contexts]),
        "text": {"path": str(GPL3), "sha256": sha256(GPL3), "bytes": GPL3.stat().st_size,
                 "source": "Debian package base-files"},
        "text_tokens_with_bos": text_tokens,
        "model": model_info(),
        "versions": versions(),
        "llama_cpp": runs,
        "transformers_same_windows": hf_runs,
    })


def perplexity_hf(contexts):
    """The same windows scored by transformers (float32), as a cross-check of the llama.cpp figure."""
    import torch

    tok, model = load_gemma_hf()
    ids = tok(GPL3.read_text(encoding="utf-8")).input_ids
    runs = []
    for n_ctx in contexts:
        n_chunks = len(ids) // n_ctx
        first = n_ctx // 2
        nll, count = 0.0, 0
        t0 = time.time()
        for i in range(n_chunks):
            window = list(ids[i * n_ctx:(i + 1) * n_ctx])
            window[0] = tok.bos_token_id
            with torch.no_grad():
                logits = model(torch.tensor([window])).logits[0].double()
            logprobs = torch.log_softmax(logits[first:n_ctx - 1], dim=-1)
            targets = torch.tensor(window[first + 1:n_ctx])
            nll -= float(logprobs.gather(1, targets[:, None]).sum())
            count += n_ctx - first - 1
        runs.append({"n_ctx": n_ctx, "tokens_with_bos": len(ids), "chunks": n_chunks, "scored_tokens": count,
                     "ppl": math.exp(nll / count), "seconds": round(time.time() - t0, 1),
                     "tokenizer": "transformers' GGUF tokenizer"})
        print("transformers", json.dumps(runs[-1]), flush=True)
    return runs


# ----------------------------------------------------------------------------------------------------------
# Tiny random models: llama, llama with llama3 rope scaling, qwen2, qwen2 with YaRN rope scaling, qwen3

TINY_TEXT = "This License applies to any program."

TINY_MODELS = {
    # name: (architecture class, config kwargs)
    "llama": ("LlamaForCausalLM", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
        max_position_embeddings=512, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)),
    "llama-rope-scaled": ("LlamaForCausalLM", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        rms_norm_eps=1e-6,
        # head_dim 8: wavelengths 6.3, 167, 4443, 118k; with original_max_position_embeddings 256 the first is
        # kept, the second is in the smooth band (64..256), the last two are divided by factor
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 256},
        max_position_embeddings=2048, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)),
    "qwen2": ("Qwen2ForCausalLM", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 20000.0},
        max_position_embeddings=512, tie_word_embeddings=True, use_sliding_window=False)),
    "qwen2-yarn": ("Qwen2ForCausalLM", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        rms_norm_eps=1e-6,
        # head_dim 8, theta 10000, original context 64: YaRN's correction range is dims [0, 2] (beta_fast 32,
        # beta_slow 1), so frequency 0 is kept, 1 is half interpolated, 2 and 3 are divided by factor; the
        # cos/sin magnitude is 0.1 ln(4) + 1. TINY_TOKENS runs past the original context.
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                         "original_max_position_embeddings": 64},
        max_position_embeddings=256, tie_word_embeddings=True, use_sliding_window=False)),
    "qwen3": ("Qwen3ForCausalLM", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 30000.0},
        max_position_embeddings=512, tie_word_embeddings=True, attention_bias=False, use_sliding_window=False)),
}
TINY_SEEDS = {"llama": 1, "llama-rope-scaled": 2, "qwen2": 3, "qwen3": 4, "qwen2-yarn": 5}
# Models whose sequence is longer than TINY_TEXT: this many ids (BOS + the start of the GPL-3 text), so that
# positions pass the original context of a context-extending rope scaling.
TINY_TOKENS = {"qwen2-yarn": 96}


def train_tiny_tokenizer(work):
    """A 256-piece SentencePiece BPE model trained on the GPL-3 text (single thread: deterministic)."""
    import sentencepiece as spm

    prefix = work / "tiny-spm"
    spm.SentencePieceTrainer.train(
        input=str(GPL3), model_prefix=str(prefix), vocab_size=256, model_type="bpe", character_coverage=1.0,
        num_threads=1, bos_id=1, eos_id=2, unk_id=0, pad_id=-1, shuffle_input_sentence=False,
        input_sentence_size=0, seed_sentencepiece_size=100000, minloglevel=2)
    return Path(str(prefix) + ".model")


TINY_INIT = ("torch.Generator().manual_seed(seed), parameters in named_parameters() order: embeddings N(0,1), "
             "matrices N(0,1/fan_in), norm weights 1+N(0,0.2^2), biases N(0,0.2^2)")


def randomize(model, seed):
    """Seeded weights with spread (TINY_INIT). transformers' own init leaves norm weights at 1 and biases at 0,
    which would test neither."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("bias"):
                p.copy_(0.2 * noise)
            elif p.ndim == 1:
                p.copy_(1.0 + 0.2 * noise)
            elif "embed_tokens" in name:
                p.copy_(noise)
            else:
                p.copy_(noise / math.sqrt(p.shape[1]))


def tiny_sequence(sp, name):
    """The ids a tiny model is run on, and the text they spell (without BOS)."""
    if name not in TINY_TOKENS:
        return [sp.bos_id()] + sp.encode(TINY_TEXT), TINY_TEXT
    pieces = sp.encode(GPL3.read_text(encoding="utf-8"))[:TINY_TOKENS[name] - 1]
    return [sp.bos_id()] + pieces, sp.decode(pieces)


def tiny(out, only=None):
    import numpy as np
    import sentencepiece as spm
    import torch
    import transformers

    tree = llama_source_tree()
    if tree is None:
        sys.exit("no llama.cpp source under .references/: run Scripts/build-llamacpp.sh")
    converter = tree / "convert_hf_to_gguf.py"
    torch.set_num_threads(THREADS)

    work = Path(tempfile.mkdtemp(prefix="phoenix-tiny-"))
    spm_model = train_tiny_tokenizer(work)
    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    vocab = sp.vocab_size()
    print(f"tiny tokenizer: {vocab} pieces")
    unknown = set(only or []) - set(TINY_MODELS)
    if unknown:
        sys.exit(f"no tiny model named {', '.join(sorted(unknown))} (known: {', '.join(TINY_MODELS)})")

    llama_ok = (BIN / "llama-server").exists()
    for name, (cls_name, kwargs) in TINY_MODELS.items():
        if only and name not in only:
            continue
        ids, text = tiny_sequence(sp, name)
        print(f"tiny-{name}: sequence of {len(ids)} ids: {ids}")
        cls = getattr(transformers, cls_name)
        config = cls.config_class(vocab_size=vocab, bos_token_id=1, eos_token_id=2, pad_token_id=None,
                                  dtype="float32", **kwargs)
        torch.manual_seed(TINY_SEEDS[name])
        model = cls(config).float().eval()
        randomize(model, TINY_SEEDS[name])
        hf_dir = work / name
        model.save_pretrained(hf_dir, safe_serialization=True)
        shutil.copy(spm_model, hf_dir / "tokenizer.model")
        (hf_dir / "tokenizer_config.json").write_text(json.dumps({
            "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
            "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer"}))

        # reload from disk so the logits are those of the saved checkpoint
        model = cls.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().numpy()

        gguf_path = out / f"tiny-{name}.gguf"
        cmd = [sys.executable, str(converter), str(hf_dir), "--outtype", "f32", "--outfile", str(gguf_path)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-5000:])
            sys.exit(f"convert_hf_to_gguf.py failed for {name}")
        print(f"wrote {gguf_path} ({gguf_path.stat().st_size} bytes)")

        cross = tiny_llamacpp_check(gguf_path, ids, logits) if llama_ok else None
        scaling_effect = None
        if kwargs["rope_parameters"]["rope_type"] != "default":
            # how far the logits move if the rope scaling is ignored (same weights, plain rope)
            plain = dict(kwargs, rope_parameters={"rope_type": "default",
                                                  "rope_theta": kwargs["rope_parameters"]["rope_theta"]})
            plain_config = cls.config_class(vocab_size=vocab, bos_token_id=1, eos_token_id=2, pad_token_id=None,
                                            dtype="float32", **plain)
            plain_model = cls(plain_config).float().eval()
            plain_model.load_state_dict(model.state_dict())
            with torch.no_grad():
                plain_logits = plain_model(torch.tensor([ids])).logits[0].float().numpy()
            scaling_effect = float(np.abs(plain_logits - logits).max())
            print(f"  ignoring the rope scaling would move the logits by up to {scaling_effect:.4f}")
        write_json(out / f"tiny-{name}.json", {
            "reference": "Hugging Face transformers (float32, eager) forward pass over token_ids; the GGUF beside "
                         "this file was written by llama.cpp's convert_hf_to_gguf.py --outtype f32 from the same "
                         "saved checkpoint",
            "command": script_command(["tiny"]),
            "converter_command": f"python3 {converter.relative_to(ROOT)} HF_DIR --outtype f32 --outfile {gguf_path.name}",
            "gguf": {"file": gguf_path.name, "sha256": sha256(gguf_path), "bytes": gguf_path.stat().st_size},
            "versions": versions(),
            "architecture": cls_name,
            "config": {k: v for k, v in json.loads((hf_dir / "config.json").read_text()).items()},
            "seed": TINY_SEEDS[name],
            "init": TINY_INIT,
            "tokenizer": "SentencePiece BPE, 256 pieces, trained on " + str(GPL3) + " (unk 0, bos 1, eos 2)",
            "text": text,
            "token_ids": ids,
            "logits_shape": list(logits.shape),
            "logits": [[float(x) for x in row] for row in logits],
            "tolerance": "float32: max over all positions and ids of |phoenix logit - reference logit| <= 1e-3 "
                         "(llama.cpp with float32 attention agrees with these to ~1e-5 in log-probability)",
            "llama_cpp_check": cross,
            "max_abs_logit_change_without_rope_scaling": scaling_effect,
        })
    shutil.rmtree(work, ignore_errors=True)


def tiny_llamacpp_check(gguf_path, ids, logits):
    """llama.cpp's view of the converted GGUF, as a check that the conversion matches transformers:
    log-softmax over the whole vocab at every position (one request per prefix, n_probs = vocab), with
    float32 attention (FLOAT32_SERVER)."""
    import numpy as np

    vocab = logits.shape[1]
    ref = logits.astype(np.float64)
    ref = ref - ref.max(axis=1, keepdims=True)
    ref = ref - np.log(np.exp(ref).sum(axis=1, keepdims=True))
    worst = 0.0
    argmax_agree = 0
    with Server(gguf_path, ctx=256, extra=FLOAT32_SERVER) as server:
        for t in range(len(ids)):
            res = server.post("/completion", completion_request(ids[:t + 1], 1, vocab))
            top = res["completion_probabilities"][0]["top_logprobs"]
            got = {x["id"]: x["logprob"] for x in top}
            common = [i for i in range(vocab) if i in got and got[i] > -30]
            worst = max(worst, max(abs(got[i] - ref[t, i]) for i in common))
            argmax_agree += int(top[0]["id"] == int(np.argmax(logits[t])))
    print(f"  llama.cpp vs transformers on {gguf_path.name}: max |Δ logprob| {worst:.2e}, "
          f"argmax agrees at {argmax_agree}/{len(ids)} positions")
    return {"positions": len(ids), "max_abs_logprob_diff": worst, "argmax_agree": argmax_agree,
            "note": "log-softmax compared where llama.cpp's logprob > -30"}


# ----------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["versions", "gemma-hf", "gemma-llamacpp", "gemma-llamacpp-f32", "compare", "perplexity", "tiny", "all"])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--ctx", type=int, action="append", help="perplexity context(s); default 512 and 128")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="tiny: build only this model (repeatable; default all of " + ", ".join(TINY_MODELS) + ")")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(versions(), indent=1), flush=True)
    if args.step in ("gemma-hf", "all"):
        gemma_hf(out)
    if args.step in ("gemma-llamacpp", "all"):
        gemma_llamacpp(out)
    if args.step in ("gemma-llamacpp-f32", "all"):
        gemma_llamacpp(out, f32=True)
    if args.step in ("compare", "all"):
        compare(out)
    if args.step in ("perplexity", "all"):
        perplexity(out, args.ctx or [512, 128])
    if args.step in ("tiny", "all"):
        tiny(out, args.only)


if __name__ == "__main__":
    main()
