#!/usr/bin/env python3
"""Reference token ids for PhoenixTokenizer's tests, from implementations Phoenix did not write.

Writes into Tests/Fixtures/tokenizer/:
  corpus.json        the test strings (hand-picked plus seeded mixtures); no ids
  gemma3.json        llama.cpp's ids for every string with the default model (Gemma 3, SentencePiece-style),
                     with BOS, once treating special-token text as text and once parsing it
  bpe-tiny.gguf      a byte-level BPE (~1000 tokens) trained with Hugging Face `tokenizers` on the corpus
  bpe-tiny.json      `tokenizers` ids for every string, for three pre-tokenizer splits (gpt-2, llama-bpe,
                     qwen2), with special tokens parsed and not parsed, and whether decode round-trips

Needs: Scripts/build-llamacpp.sh run first (llama-tokenize), `pip install tokenizers gguf`, and the default
model (PHOENIX_MODEL or ~/.cache/phoenix/gemma-3-270m-q4_k_m.gguf).

    python3 Scripts/goldens/tokenizer_goldens.py
"""
import json
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/tokenizer"
REFS = ROOT / ".references"
LLAMA_TOKENIZE = REFS / "llama.cpp-build/bin/llama-tokenize"


def default_model():
    if os.environ.get("PHOENIX_MODEL"):
        return Path(os.environ["PHOENIX_MODEL"])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "phoenix/gemma-3-270m-q4_k_m.gguf"


# MARK: - Corpus

HAND_PICKED = [
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    " \n ",
    "\t\t\tindented",
    "a\tb\tc",
    "line one\nline two\n",
    "line one\r\nline two\r\n",
    "\n\n\nthree newlines first",
    "trailing newline\n",
    "  leading spaces",
    "trailing spaces   ",
    "  both  ",
    "multiple   spaces    between     words",
    "    four-space indent",
    " " * 40 + "forty spaces",
    "\u00a0non-breaking\u00a0spaces\u00a0",
    "thin\u2009space and ideographic\u3000space",
    "Hello",
    "Hello, world!",
    "hello world",
    "HELLO WORLD",
    "The quick brown fox jumps over the lazy dog.",
    "It's a dog's life, isn't it? We'll see, they've said, I'd say, you're right, I'm sure.",
    "IT'S LOUD, ISN'T IT? WE'LL, THEY'VE, I'D, YOU'RE, I'M",
    "don't 'quote' me \"on\" that",
    "café crème brûlée naïve façade",
    "e\u0301 (e + combining acute) vs \u00e9",
    "a\u0300\u0301\u0302\u0303\u0304 stacked combining marks",
    "Zalgo: Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034da\u0357",
    "Ångström, Øresund, Æsir, straße, Œuvre",
    "ﬁ ligature and ｆｕｌｌｗｉｄｔｈ letters",
    "Türkçe: ığüşöç İĞÜŞÖÇ",
    "Polski: zażółć gęślą jaźń",
    "Tiếng Việt có dấu: Việt Nam",
    "Привет, мир! Как дела?",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Українська мова: їжак, ґанок, єнот",
    "Γειά σου Κόσμε! Ελληνικά: αβγδεζηθ ΑΒΓΔ",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
    "你好，世界！",
    "我爱北京天安门。",
    "日本語のテキスト：こんにちは、カタカナ、ひらがな",
    "漢字とかな交じり文",
    "한국어 텍스트: 안녕하세요 세계",
    "中文English混合text测试",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "ሰላም ልዑል",
    "Ελληνικά русский 中文 日本語 한국어 العربية",
    "😀",
    "😀😃😄😁",
    "👍🏽 thumbs up medium skin",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈 rainbow flag",
    "🧑🏿‍💻 technologist",
    "❤️ red heart with variation selector",
    "🇫🇷🇯🇵 flags",
    "emoji at end 🎉",
    "🎉 emoji at start",
    "keycap 1️⃣ #️⃣",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝒮𝒸𝓇𝒾𝓅𝓉",
    "∀x ∈ ℝ: x² ≥ 0, ∑ᵢ aᵢ = ∫ f(x) dx ≈ π",
    "Ω ≠ Ω (ohm sign vs omega), K vs K (kelvin)",
    "©®™ §¶ †‡ •…",
    "¿Qué? ¡Sí! «guillemets» „Anführungszeichen“",
    "0",
    "7",
    "42",
    "123",
    "1234",
    "12345",
    "1234567890",
    "3.14159265358979323846264338327950288419716939937510",
    "12345678901234567890123456789012345678901234567890",
    "1,000,000 and 1.000.000 and 1 000 000",
    "phone: +1 (555) 123-4567",
    "2024-01-15T10:30:00Z",
    "v1.2.3-beta.4+build.567",
    "0xDEADBEEF 0b101010 0o777",
    "١٢٣ ٤٥٦ (Arabic-Indic digits) ๑๒๓ (Thai digits)",
    "Ⅻ Ⅳ roman numerals, ½ ¾ fractions, ² ³ superscripts",
    "https://www.example.com/path/to/page?query=value&other=123#fragment",
    "http://localhost:8080/api/v1/users/42",
    "ftp://files.example.org/pub/file.tar.gz",
    "mailto:someone@example.com",
    "user.name+tag@sub.domain.co.uk",
    "www.google.com",
    "https://en.wikipedia.org/wiki/Byte_pair_encoding",
    "def hello():\n    print(\"Hello, world!\")\n",
    "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "if x == 1:\n        return True\n    else:\n        return False",
    "const f = (a, b) => a + b; // arrow function",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%john%';",
    "<html><body><p>Hello</p></body></html>",
    "<table><tr><td>cell</td></tr></table>",
    "<div class=\"x\">text</div>",
    "{\"key\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "$ ls -la | grep '.swift' && echo done",
    "x = [i**2 for i in range(10) if i % 2 == 0]",
    "a && b || !c",
    "    ",
    "\t\n\t\n",
    "a  b   c    d     e",
    "!!!???...,,,;;;",
    "-----=====+++++*****",
    "____underscores____",
    "~`@#$%^&*()_+-={}[]|\\:;\"'<>,.?/",
    "...",
    "—–- dashes",
    "“smart quotes” and ‘single’",
    "<bos>",
    "<eos>",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "text with <start_of_turn> inside",
    "<pad><unk><mask>",
    "<unused0> and <unused99>",
    "<start_of_image>",
    "<|endoftext|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>",
    "<s>[INST] hi [/INST]</s>",
    "<bos><bos>double bos",
    "not quite <bos special",
    "<start_of_turn>",
    "<end_of_turn>\n",
    "[multimodal]",
    "a" * 100,
    "ab" * 50,
    "aaaa bbbb aaaa bbbb",
    "supercalifragilisticexpialidocious",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "antidisestablishmentarianism",
    "x" * 300,
    "ing ed tion ness ly",
    "ThisIsCamelCase and snake_case_words and kebab-case-words",
    "UPPER lower MiXeD",
    "A.B.C. U.S.A. e.g. i.e. etc.",
    "Mr. Smith's 3rd-floor apartment (No. 12B) costs $1,200/month.",
    "\u200b zero width space \u200b",
    "\u200d joiner alone \u200c non-joiner",
    "\ufeff byte order mark",
    "tab\tseparated\tvalues\t1\t2\t3",
    "CSV,values,\"quoted,comma\",42",
    "I\u2019m using a right single quotation mark",
    "\u00ad soft hyphen",
    "control \u0007 bell and \u001b escape",
    "\u0000 null char",
    "\x7f delete char",
    "mixed\r\nline\rendings\n",
]


def mixtures(count, seed=20240601):
    """Seeded random concatenations of pieces from every category, with varied separators."""
    pieces = [s for s in HAND_PICKED if s and len(s) < 80]
    separators = ["", " ", "  ", "\n", "\t", " \n", "\n\n", "   ", ". ", ", "]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        k = rng.randint(2, 5)
        parts = [rng.choice(pieces) for _ in range(k)]
        text = ""
        for part in parts:
            text += part + rng.choice(separators)
        if rng.random() < 0.3:
            text = " " * rng.randint(1, 3) + text
        out.append(text)
    return out


def random_unicode(count, seed=7):
    """Seeded random strings of code points drawn from many scripts and symbol blocks."""
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0x1F300, 0x1F64F),
              (0x2000, 0x206F), (0x0300, 0x036F)]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 30)):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
            if rng.random() < 0.15:
                chars.append(rng.choice([" ", "  ", "\n", "\t"]))
        out.append("".join(chars))
    return out


def corpus():
    strings = HAND_PICKED + mixtures(120) + random_unicode(60)
    seen, unique = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


# MARK: - Gemma via llama.cpp


def llama_cpp_version():
    source = REFS / "llama.cpp-build/SOURCE"
    sdist = source.read_text().strip() if source.exists() else sorted(REFS.glob("llama_cpp_python-*/"))[-1].name
    src = REFS / sdist / "vendor/llama.cpp"
    commit = "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
    return {"llama-cpp-python sdist": sdist, "llama.cpp commit": commit}


def llama_tokenize(model, text, parse_special):
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        args = [str(LLAMA_TOKENIZE), "-m", str(model), "-f", path, "--ids", "--log-disable", "--no-escape"]
        if not parse_special:
            args.append("--no-parse-special")
        result = subprocess.run(args, capture_output=True, text=True, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(path)


def gemma_goldens(strings):
    model = default_model()
    if not model.exists():
        sys.exit(f"default model not found at {model}")
    if not LLAMA_TOKENIZE.exists():
        sys.exit(f"{LLAMA_TOKENIZE} missing: run Scripts/build-llamacpp.sh")

    def both(text):
        return llama_tokenize(model, text, False), llama_tokenize(model, text, True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(both, strings))
    return {
        "reference": llama_cpp_version() | {"tool": "llama-tokenize --ids --no-escape [--no-parse-special]"},
        "model": model.name,
        "add_bos": True,
        "cases": [{"text": s, "ids": plain, "ids_parse_special": special}
                  for s, (plain, special) in zip(strings, results)],
    }


# MARK: - Byte-level BPE via Hugging Face tokenizers

PRE_TOKENIZERS = {
    # tokenizer.ggml.pre -> (split regex from the model family's tokenizer.json, ignore_merges)
    "gpt-2": (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", False),
    "llama-bpe": (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+", True),
    "qwen2": (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+", False),
}
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def bpe_goldens(strings):
    import tokenizers
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    base.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    training = strings + [s.lower() for s in strings] + [s.upper() for s in strings]
    base.train_from_iterator(training, trainer=trainer)
    state = json.loads(base.to_str())
    vocab = state["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    assert all(t is not None for t in tokens)

    variants = {}
    for pre, (pattern, ignore_merges) in PRE_TOKENIZERS.items():
        model = models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges], ignore_merges=ignore_merges)
        tok = Tokenizer(model)
        tok.add_special_tokens(SPECIAL)
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        tok.decoder = decoders.ByteLevel()
        cases = []
        for s in strings:
            tok.encode_special_tokens = False
            special = tok.encode(s, add_special_tokens=True).ids
            tok.encode_special_tokens = True
            plain = tok.encode(s, add_special_tokens=True).ids
            cases.append({"ids": plain, "ids_parse_special": special,
                          "round_trip": tok.decode(plain, skip_special_tokens=False) == s})
        variants[pre] = cases

    from gguf import GGUFWriter
    path = OUT / "bpe-tiny.gguf"
    writer = GGUFWriter(str(path), arch="bpe-tiny")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in SPECIAL else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_eos_token_id(tokens.index("<|endoftext|>"))
    writer.add_add_bos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    return {
        "reference": {"tokenizers": tokenizers.__version__},
        "gguf": path.name,
        "vocab_size": len(tokens),
        "merge_count": len(merges),
        "special_tokens": SPECIAL,
        "texts": "corpus.json, same order",
        "pre_tokenizers": {name: {"regex": p, "ignore_merges": im} for name, (p, im) in PRE_TOKENIZERS.items()},
        "cases": variants,
    }


def write(name, value):
    """Indented JSON, except that lists of numbers and each case object stay on one line."""
    def dump(v, depth):
        pad = " " * depth
        if isinstance(v, dict) and not ("ids" in v):
            items = [f"{pad} {json.dumps(k, ensure_ascii=False)}: {dump(x, depth + 1)}" for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(v, list) and v and isinstance(v[0], (dict, str)):
            return "[\n" + ",\n".join(f"{pad} {dump(x, depth + 1)}" for x in v) + "\n" + pad + "]"
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    (OUT / name).write_text(dump(value, 0) + "\n", encoding="utf-8")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    strings = corpus()
    write("corpus.json", strings)
    write("bpe-tiny.json", bpe_goldens(strings))
    if "--skip-gemma" not in sys.argv:
        write("gemma3.json", gemma_goldens(strings))
    print(f"{len(strings)} strings -> {OUT}")


if __name__ == "__main__":
    main()
