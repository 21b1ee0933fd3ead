"""Trim LiteLLM's model_prices_and_context_window.json to the chat, embedding,
transcription, realtime and image models of a few providers, keeping each
kept entry's number text exactly as written, with the prices the crate reads
(cache reads and writes, reasoning and audio tokens, images, audio seconds,
web search calls, long-prompt tiers, batch, priority and flex).

    python3 trim.py litellm-1.110.2_model_prices_and_context_window.json > litellm_subset.json
"""
import json, re, sys

class Raw(str):
    pass

KEEP_PROVIDERS = {"openai", "anthropic", "azure", "gemini", "mistral", "bedrock_converse",
                  "vertex_ai-language-models"}
KEEP_MODES = {"chat", "embedding", "audio_transcription", "realtime", "image_generation"}
KEEP_FIELDS = ["input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
               "litellm_provider", "mode", "max_input_tokens", "max_output_tokens",
               "search_context_cost_per_query"]
# The price keys core::pricing reads (litellm_rate_key).
RATE = re.compile(r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|"
                  r"cache_creation_input_token_cost(_above_1hr)?|output_cost_per_reasoning_token|"
                  r"input_cost_per_audio_token|output_cost_per_audio_token|output_cost_per_image|"
                  r"input_cost_per_audio_per_second|input_cost_per_second)(_above_\d+k_tokens)?"
                  r"(_batches|_priority|_flex)?$")

def dump(v):
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(x)}" for k, x in v.items()) + "}"
    return json.dumps(v)

data = json.load(open(sys.argv[1]), parse_float=Raw, parse_int=Raw)
out = []
for name, entry in data.items():
    if name == "sample_spec":
        out.append((name, entry))
        continue
    if entry.get("litellm_provider") in KEEP_PROVIDERS and entry.get("mode") in KEEP_MODES \
            and any(RATE.match(k) for k in entry):
        out.append((name, entry))
print("{")
for i, (name, entry) in enumerate(out):
    keys = KEEP_FIELDS + sorted(k for k in entry if RATE.match(k) and k not in KEEP_FIELDS)
    fields = [(k, entry[k]) for k in keys
              if k in entry and (not isinstance(entry[k], dict) or k == "search_context_cost_per_query")]
    body = ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in fields)
    print(f"    {json.dumps(name)}: {{{body}}}" + ("," if i + 1 < len(out) else ""))
print("}")
