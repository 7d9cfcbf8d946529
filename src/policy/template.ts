// Plain templates for alert summaries, webhook bodies and task parameters: `{{ .field }}` is replaced by a value of
// the firing (the names are checked when the policy is loaded). No expressions, no functions, no file access.
const TEMPLATE = /\{\{\s*\.([a-z_.]+)\s*\}\}/g;

/** `json`: the template is a JSON text, so values are escaped to stay inside their string. */
export function renderTemplate(tpl: string, ctx: Readonly<Record<string, string>>, json = false): string {
  return tpl.replace(TEMPLATE, (_m, f: string) => {
    const v = ctx[f] ?? "";
    return json ? JSON.stringify(v).slice(1, -1) : v;
  });
}
