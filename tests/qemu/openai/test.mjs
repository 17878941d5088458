// The official `openai` npm package (a client nobody here wrote) against the serve kernel.
//
// usage: node test.mjs BASE_URL API_KEY MODEL PROMPT MAX_TOKENS EXPECTED_TEXT
// Run by tests/qemu/serve_test.py from build/tests/openai/ (where npm ci installed the
// package of package-lock.json). EXPECTED_TEXT is the greedy completion of PROMPT, which the
// driver has already checked against bareflow-host. Prints one line per check and exits 1
// at the first failure.
import OpenAI from "openai";

const [baseURL, apiKey, model, prompt, maxTokens, expected] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });

function check(condition, what, detail) {
    if (!condition) {
        console.log(`openai FAIL ${what}: ${detail}`);
        process.exit(1);
    }
    console.log(`openai ok   ${what}`);
}

const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === model, "models.list", JSON.stringify(models.data));

const request = { model, prompt, max_tokens: Number(maxTokens), temperature: 0 };
const completion = await client.completions.create(request);
check(completion.choices[0].text === expected, "completions.create (greedy)",
    `${JSON.stringify(completion.choices[0].text)} != ${JSON.stringify(expected)}`);
check(completion.usage.completion_tokens === Number(maxTokens) && completion.choices[0].finish_reason === "length",
    "completions.create usage", JSON.stringify(completion.usage));

const stream = await client.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
let streamed = "", chunks = 0, usage = null;
for await (const chunk of stream) {
    if (chunk.choices.length > 0)
        streamed += chunk.choices[0].text;
    if (chunk.usage)
        usage = chunk.usage;
    ++chunks;
}
check(streamed === expected, `completions.create (stream, ${chunks} chunks)`,
    `${JSON.stringify(streamed)} != ${JSON.stringify(expected)}`);
check(usage && usage.completion_tokens === Number(maxTokens), "stream usage chunk", JSON.stringify(usage));

try {
    await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hello" }] });
    check(false, "chat.completions.create", "succeeded, expected 501 until the chat templates land");
} catch (e) {
    check(e instanceof OpenAI.APIError && e.status === 501, "chat.completions.create is 501", `${e}`);
}

try {
    await new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 }).models.list();
    check(false, "a wrong API key", "was accepted");
} catch (e) {
    check(e instanceof OpenAI.AuthenticationError && e.status === 401, "a wrong API key is 401", `${e}`);
}
console.log("openai: all checks passed");
