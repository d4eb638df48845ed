#!/usr/bin/env python3
"""Checks an OpenAI-compatible server with the official `openai` client: completions and chat, whole and
streamed, log-probabilities, several choices and error statuses. Greedy requests must stream exactly the
text they return whole.

    python3 Scripts/openai_client_check.py --base-url http://127.0.0.1:8080/v1 [--api-key KEY] [--model NAME]

Exits 0 and prints "N passed, 0 failed" when every check passes; otherwise names the failed checks.
"""
import argparse
import sys

import openai
from openai import OpenAI


def check_completions(client, model, max_tokens):
    prompt = "The capital of France is"
    whole = client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, temperature=0)
    assert whole.object == "text_completion", whole.object
    assert whole.model == model, whole.model
    assert len(whole.choices) == 1 and whole.choices[0].index == 0
    assert whole.choices[0].finish_reason in ("stop", "length"), whole.choices[0].finish_reason
    assert whole.usage.completion_tokens > 0 and whole.usage.prompt_tokens > 0, whole.usage
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens
    text = whole.choices[0].text
    assert text, "a greedy completion of a plain prompt should not be empty"

    chunks = list(client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, temperature=0,
                                            stream=True, stream_options={"include_usage": True}))
    streamed = "".join(choice.text for chunk in chunks for choice in chunk.choices)
    assert streamed == text, f"streamed {streamed!r} != whole {text!r}"
    finishes = [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason]
    assert finishes == [whole.choices[0].finish_reason], finishes
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens, chunks[-1]


def check_chat(client, model, max_tokens):
    messages = [{"role": "system", "content": "You answer briefly."},
                {"role": "user", "content": "Name three colours."}]
    whole = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, temperature=0)
    assert whole.object == "chat.completion", whole.object
    message = whole.choices[0].message
    assert message.role == "assistant", message.role
    assert whole.choices[0].finish_reason in ("stop", "length")
    text = message.content
    assert text, "a greedy chat answer should not be empty"

    chunks = list(client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens,
                                                 temperature=0, stream=True))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    deltas = [choice.delta for chunk in chunks for choice in chunk.choices]
    assert deltas[0].role == "assistant", deltas[0]
    streamed = "".join(delta.content or "" for delta in deltas)
    assert streamed == text, f"streamed {streamed!r} != whole {text!r}"

    # Content given as text parts means the same as a string.
    parts = [messages[0], {"role": "user", "content": [{"type": "text", "text": "Name three colours."}]}]
    again = client.chat.completions.create(model=model, messages=parts, max_tokens=max_tokens, temperature=0)
    assert again.choices[0].message.content == text


def check_logprobs(client, model):
    completion = client.completions.create(model=model, prompt="One, two, three,", max_tokens=3, temperature=0,
                                           logprobs=2)
    logprobs = completion.choices[0].logprobs
    count = completion.usage.completion_tokens
    assert len(logprobs.tokens) == count == len(logprobs.token_logprobs) == len(logprobs.top_logprobs), logprobs
    assert all(value <= 0 for value in logprobs.token_logprobs), logprobs.token_logprobs
    assert all(1 <= len(top) <= 2 for top in logprobs.top_logprobs), logprobs.top_logprobs
    assert logprobs.text_offset[0] == 0 and logprobs.text_offset == sorted(logprobs.text_offset)

    chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hi."}],
                                          max_tokens=3, temperature=0, logprobs=True, top_logprobs=2)
    content = chat.choices[0].logprobs.content
    assert len(content) == chat.usage.completion_tokens, (len(content), chat.usage)
    for entry in content:
        assert entry.logprob <= 0 and isinstance(entry.bytes, list) and len(entry.top_logprobs) == 2, entry
        # Greedy: the chosen token is the most likely one.
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob


def check_choices(client, model):
    completion = client.completions.create(model=model, prompt="Once upon a time", max_tokens=4, temperature=0, n=2)
    assert sorted(choice.index for choice in completion.choices) == [0, 1]
    assert completion.choices[0].text == completion.choices[1].text, "greedy choices should agree"
    tokens = completion.usage.completion_tokens
    assert 0 < tokens <= 8 and tokens % 2 == 0, completion.usage  # both choices made the same tokens


def check_errors(client, model):
    try:
        client.completions.create(model="no-such-model", prompt="hi", max_tokens=2)
        raise AssertionError("an unknown model was accepted")
    except openai.NotFoundError:
        pass
    try:
        client.completions.create(model=model, prompt="hi", max_tokens=-1)
        raise AssertionError("max_tokens=-1 was accepted")
    except openai.BadRequestError as error:
        assert error.body and error.body.get("param") == "max_tokens", error.body
    try:
        client.completions.create(model=model, prompt="hi", extra_body={"no_such_option": 1})
        raise AssertionError("an unknown parameter was accepted")
    except openai.BadRequestError as error:
        assert "no_such_option" in str(error), error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the server's /v1 URL, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--api-key", default="none", help="sent as a bearer token (any text when the server needs none)")
    parser.add_argument("--model", help="the model to ask for (default: the first the server lists)")
    parser.add_argument("--max-tokens", type=int, default=12)
    args = parser.parse_args()

    client = OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0, timeout=600)
    model = args.model or client.models.list().data[0].id
    checks = [check_completions, check_chat, check_logprobs, check_choices, check_errors]
    failed = []
    for check in checks:
        try:
            if check in (check_completions, check_chat):
                check(client, model, args.max_tokens)
            else:
                check(client, model)
            print(f"ok    {check.__name__}")
        except Exception as error:  # report every failed check, not only the first
            failed.append(check.__name__)
            print(f"FAIL  {check.__name__}: {type(error).__name__}: {error}")
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
