/**
 * A value quoted for one line of output: JSON string syntax, plus DEL, C1 controls and bidi
 * overrides escaped (JSON.stringify leaves those raw, and a terminal would act on them).
 */
const UNSAFE = /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g

export function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
