import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error';

function tooLarge(maxBytes: number, bytes: number, known: boolean): ApiError {
  const size = known ? `${bytes} bytes` : `more than ${maxBytes} bytes`;
  return new ApiError(413, 'body_too_large', `the request body is ${size}; the limit is ${maxBytes} bytes (--max-body-bytes)`, { limit: maxBytes, value: bytes });
}

/**
 * The request body, refused with 413 `body_too_large` as soon as it passes `maxBytes` (by its
 * Content-Length, or while reading): no more of it is kept. The `value` of that error is the
 * declared length, or else the bytes read when the limit was passed.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes, declared, true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        stop();
        // Nothing more is kept; the rest is read and dropped while the connection closes (as Node
        // does for a body nobody reads), so the client gets the answer instead of a reset.
        req.resume();
        reject(tooLarge(maxBytes, bytes, false));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, bytes));
    };
    // The client went away before the end: nobody is left to answer.
    const onClose = () => {
      stop();
      reject(new ApiError(400, 'incomplete_body', 'the connection closed before the request body ended'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    // Errors (a reset connection) also end in 'close'; listening keeps them from being unhandled.
    req.on('error', () => {});
  });
}
