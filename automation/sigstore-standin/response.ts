/** What a stand-in handler answers, and a refusal in the JSON error shape both services use. */
export interface StandinResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const refuse = (status: number, message: string): StandinResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ code: status, message }),
});
