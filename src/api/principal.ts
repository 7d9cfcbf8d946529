// Who a request acts as, and the roles that rank what it may do (read < operator < admin). Shared by the bearer-token
// auth (auth.ts) and console sessions (session.ts), so neither imports the other for it.

export type Role = "read" | "operator" | "admin";

export interface Principal {
  readonly name: string;
  readonly role: Role;
}
