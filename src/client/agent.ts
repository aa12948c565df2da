/**
 * Instrumentation for an AI agent's run: each step (conversation start, user message, tool call,
 * model response, guardrail decision, conversation end) becomes an audit record (spec/records.md)
 * sharing one request id and conversation id; each receipt is appended to a local receipt file
 * before the step returns. Personal texts (user message, response, tool arguments) are sent as the
 * record's personal fields: the log commits to them with salts and keeps them encrypted.
 */
import type { LogClient } from './log-client.js';
import type { Receipt } from './receipt.js';
import type { ReceiptFile } from './receipt-file.js';

export type DataClassification = 'public' | 'internal' | 'confidential' | 'restricted';

export interface ModelInfo {
  name: string;
  provider?: string;
  version_hash?: string;
}

export interface AgentRunOptions {
  client: LogClient;
  tenantId: string;
  agentName: string;
  /** Defaults to agentName. */
  actorId?: string;
  /** Defaults to a random `conv_…`. */
  conversationId?: string;
  /** Defaults to a random `req_…`. */
  requestId?: string;
  /**
   * The data subject (the end user), if known. Without it the user of this run is named by a
   * fresh random id (`anonymousId`), never by a shared placeholder: a user actor is a record's
   * data subject, and one placeholder would make every anonymous user one subject (erasing one
   * would erase all).
   */
  userId?: string;
  model?: ModelInfo;
  systemPromptVersion?: string;
  policyVersion?: string;
  dataClassification?: DataClassification[];
  /** Where receipts are appended (durably) as they arrive. */
  receipts?: ReceiptFile;
  /** Clock for client_timestamp (tests). */
  now?: () => Date;
}

export interface ToolCall {
  tool: string;
  /** The tool arguments (personal: committed and encrypted by the log). */
  args?: unknown;
  ok: boolean;
  latencyMs?: number;
}

/** A guardrail's decision: `verdict` is a public token; `reason` (free text) is personal. */
export interface Guardrail {
  id: string;
  verdict: string;
  score?: number;
  reason?: string;
}

export interface ModelResponse {
  text: string;
  model?: ModelInfo;
  toolCalls?: ToolCall[];
  retrievedDocs?: { id: string; hash?: string }[];
  guardrails?: Guardrail[];
  metrics?: { latency_ms?: number; input_tokens?: number; output_tokens?: number; cost_usd?: number };
}

function randomId(prefix: string): string {
  return `${prefix}_${globalThis.crypto.randomUUID().replaceAll('-', '')}`;
}

/** One agent run; every method submits one record and resolves with its receipt. */
export class AgentRun {
  readonly requestId: string;
  readonly conversationId: string;
  /** The id this run's user messages are recorded under when no userId was given (`anon_…`). */
  readonly anonymousId: string;
  /** Receipts of this run, in order. */
  readonly receipts: Receipt[] = [];

  constructor(private readonly o: AgentRunOptions) {
    this.requestId = o.requestId ?? randomId('req');
    this.conversationId = o.conversationId ?? randomId('conv');
    this.anonymousId = randomId('anon');
  }

  private base(action: string, actor: 'agent' | 'user' | 'system'): Record<string, unknown> {
    const o = this.o;
    const rec: Record<string, unknown> = {
      event_id: randomId('evt'),
      client_timestamp: (o.now?.() ?? new Date()).toISOString(),
      tenant_id: o.tenantId,
      request_id: this.requestId,
      conversation_id: this.conversationId,
      action,
      actor_id: actor === 'user' ? (o.userId ?? this.anonymousId) : (o.actorId ?? o.agentName),
      actor_type: actor,
      agent_name: o.agentName,
    };
    if (o.userId !== undefined) rec.user_id = o.userId;
    if (o.model !== undefined) rec.model = o.model;
    if (o.systemPromptVersion !== undefined) rec.system_prompt_version = o.systemPromptVersion;
    if (o.policyVersion !== undefined) rec.policy_version = o.policyVersion;
    if (o.dataClassification !== undefined) rec.data_classification = o.dataClassification;
    return rec;
  }

  private async emit(record: Record<string, unknown>): Promise<Receipt> {
    const receipt = await this.o.client.submitRecord(record);
    await this.o.receipts?.append(receipt);
    this.receipts.push(receipt);
    return receipt;
  }

  /** conversation_started */
  start(details?: Record<string, unknown>): Promise<Receipt> {
    return this.emit({ ...this.base('conversation_started', 'agent'), ...(details ? { details } : {}) });
  }

  /** user_message_received (the text is personal). */
  userMessage(text: string, retrievedDocs?: { id: string; hash?: string }[]): Promise<Receipt> {
    const input: Record<string, unknown> = { user_message: text };
    if (retrievedDocs) input.retrieved_docs = retrievedDocs;
    return this.emit({ ...this.base('user_message_received', 'user'), input });
  }

  /** tool_invoked */
  toolCall(call: ToolCall): Promise<Receipt> {
    const rec = this.base('tool_invoked', 'agent');
    rec.output = { tool_calls: [toolCallRecord(call)] };
    if (call.latencyMs !== undefined) rec.metrics = { latency_ms: call.latencyMs };
    return this.emit(rec);
  }

  /**
   * Wraps a tool function so each call is recorded (tool_invoked) with its arguments, outcome and
   * latency once it settles. The tool's result or error is passed through unchanged, after the
   * record is durable.
   */
  wrapTool<A extends unknown[], R>(tool: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const started = performance.now();
      let result: R;
      try {
        result = await fn(...args);
      } catch (err) {
        await this.toolCall({ tool, args, ok: false, latencyMs: performance.now() - started });
        throw err;
      }
      await this.toolCall({ tool, args, ok: true, latencyMs: performance.now() - started });
      return result;
    };
  }

  /** agent_response_generated (the text is personal). */
  modelResponse(r: ModelResponse): Promise<Receipt> {
    const rec = this.base('agent_response_generated', 'agent');
    if (r.model) rec.model = r.model;
    const output: Record<string, unknown> = { final_text: r.text };
    if (r.toolCalls) output.tool_calls = r.toolCalls.map(toolCallRecord);
    rec.output = output;
    if (r.retrievedDocs) rec.input = { retrieved_docs: r.retrievedDocs };
    if (r.guardrails) rec.guardrails = r.guardrails;
    if (r.metrics) rec.metrics = r.metrics;
    return this.emit(rec);
  }

  /** guardrail_decision */
  guardrail(g: Guardrail): Promise<Receipt> {
    return this.emit({ ...this.base('guardrail_decision', 'system'), guardrails: [g] });
  }

  /**
   * conversation_ended; `details.outcome` is 'ok' or 'error', public, as is `details.error` (an
   * error's name); any other member of `details` is personal (spec/records.md).
   */
  end(outcome: 'ok' | 'error' = 'ok', details: Record<string, unknown> = {}): Promise<Receipt> {
    const all = { ...details, outcome };
    const shown = Object.keys(all).filter((k) => k === 'outcome' || k === 'error');
    return this.emit({
      ...this.base('conversation_ended', 'agent'),
      details: all,
      public_detail_keys: shown,
    });
  }
}

function toolCallRecord(c: ToolCall): Record<string, unknown> {
  const t: Record<string, unknown> = { tool: c.tool, ok: c.ok };
  if (c.args !== undefined) t.args = c.args;
  return t;
}

/**
 * Runs `fn` inside an audited agent run: records conversation_started before, and
 * conversation_ended after (with outcome 'error' and the error name if `fn` throws; the error is
 * rethrown). Resolves with fn's result once every receipt is durable.
 * @example
 *   const answer = await auditedRun({ client, tenantId: 'tnt_acme', agentName: 'billing', receipts },
 *     async (run) => { await run.userMessage(q); const a = await llm(q); await run.modelResponse({ text: a }); return a; });
 */
export async function auditedRun<T>(opts: AgentRunOptions, fn: (run: AgentRun) => Promise<T>): Promise<T> {
  const run = new AgentRun(opts);
  await run.start();
  let result: T;
  try {
    result = await fn(run);
  } catch (err) {
    await run.end('error', { error: err instanceof Error ? err.name : 'unknown' });
    throw err;
  }
  await run.end('ok');
  return result;
}
