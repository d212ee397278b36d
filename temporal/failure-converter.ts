// The failure converter of every client and Worker, and of the workflow
// bundle (bundled by path, so the sandbox has it too): a failure's message and
// stack trace go into an encoded attribute, which the payload codec encrypts.
// Our messages name amounts ("amount ... exceeds the fraud limit") and the
// provider's answers; a failure's type (CardDeclined) stays in clear.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
