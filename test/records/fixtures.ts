/** The record of issue 3, exactly as written there. */
export const EXAMPLE_RECORD_TEXT = `{"tenant_id": "tnt_acme", "request_id": "req_abc123", "conversation_id": "conv_42",
 "action": "agent_response_generated", "actor_id": "billing-assistant", "actor_type": "agent",
 "agent_name": "billing-assistant", "user_id": "patient-7731", "data_classification": ["confidential"],
 "model": {"name": "claude-3-7-sonnet", "provider": "anthropic", "version_hash": "sha256:ab12cd34ef56"},
 "system_prompt_version": "v17", "policy_version": "guardrails:2026-04-29",
 "input": {"user_message": "How much will my next bill be?", "retrieved_docs": [{"id": "doc_kb_142", "hash": "sha256:9f8e7d6c"}]},
 "guardrails": [{"id": "prompt_guard_v2", "verdict": "BENIGN", "score": 0.99}],
 "output": {"final_text": "Your next bill, due 2026-06-12, is $124.50.", "tool_calls": [{"tool": "lookup_billing", "args_hash": "sha256:1a2b", "ok": true}]},
 "metrics": {"latency_ms": 1287, "input_tokens": 1842, "output_tokens": 47, "cost_usd": 0.0061},
 "client_timestamp": "2026-05-16T14:23:18.421Z"}`;

export function exampleRecord(): Record<string, unknown> {
  return JSON.parse(EXAMPLE_RECORD_TEXT) as Record<string, unknown>;
}
