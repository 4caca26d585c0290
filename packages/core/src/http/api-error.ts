/** A request the server refuses: the HTTP status and the JSON body `{"error": {...}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For a refused limit: the limit and the request's value (bytes, texts or code points). */
    readonly limit?: { limit: number; value: number },
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { code: string; message: string; limit?: number; value?: number } } {
    return { error: { code: this.code, message: this.message, ...this.limit } };
  }
}
