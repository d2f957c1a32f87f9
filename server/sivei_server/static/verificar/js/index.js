// The record checker of the static verification pages (registro.html), in one import: the bundle
// (scripts/bundle.mjs) exposes it as globalThis.SiveiVerificar.registro.

export { Cancelled, SUPPORTED_VERSIONS, checkRecord, closedFiles, parseChoice, requiredFiles, structuralProblems } from "./checker.js";
export { BOARD_BIN, BOARD_FILES, BOARD_JSONL, MAGIC, MAX_EVENT_BYTES, READERS, boardReader } from "./board-reader.js";
export { RecordFiles, blobLines, readTar, recordFromFileList, recordFromTarGz, recordFromUrl } from "./sources.js";
export { Report, MAX_LISTED_PER_CHECK } from "./report.js";
export { parseStrictJson } from "./json.js";
export { parseConstancia } from "./integrity.js";
export * as ecdsa from "../../booth/js/ecdsa.js";
export * as acts from "../../booth/js/acts.js";
export * as receipts from "../../booth/js/receipts.js";
export * as board from "../../booth/js/board.js";
export * as results from "../../booth/js/results.js";
export * as tally from "../../booth/js/tally.js";
export * as decryption from "../../booth/js/decryption.js";
export * as credentialList from "../../booth/js/credentiallist.js";
export * as ceremony from "../../booth/js/ceremony.js";
export * as validate from "../../booth/js/validate.js";
export { EXPONENTIATIONS_PER_OPTION, measureExponentiation, recordSummary } from "./summary.js";
export { atRecordRoot } from "./sources.js";
export { applyPageTexts } from "./page-texts.js";
