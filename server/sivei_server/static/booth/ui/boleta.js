// The booth's ballot as the voter marks it, as on paper (no DOM here; cabina.js draws it).
//
// A candidacy contest offers one mark per party that has its own option, plus the exclusive
// options: independent candidates, the non-registered candidate (write-in) and "anular mi voto"
// (the contest's "null" option). A referendum offers its answers and "anular mi voto".
//
// Marks on two or more parties of one coalition are ONE vote for that combination (LGIPE arts. 288
// and 290; Contest.optionForMarks, as the library's Contest.option_for_marks). A mark is offered
// only when the marks would still make a valid vote: with PAN marked, PRI and PRD (its partners,
// whose combination options exist) stay available and every other option is not offered until
// PAN is unmarked. The library requires every subset of two or more partners to have its own
// combination option, so every valid combination is reachable one mark at a time, and removing a
// mark from a valid combination leaves a valid vote.
//
// The name typed for a non-registered candidate is kept here for the review screen only: the
// choices that are encrypted name the contest's "write_in" option, never the name.

export const EXCLUSIVE_KINDS = Object.freeze(["independent", "write_in", "null", "answer"]);
export const WRITE_IN_MAX = 120;

export class ContestMarks {
  /** contest: a Contest of ../js/manifest.js. */
  constructor(contest) {
    this.contest = contest;
    this.parties = new Set();
    this.other = null;
    this.writeInName = "";
  }

  /** The options the voter marks, in manifest order (combination options are reached by marks). */
  get items() {
    return this.contest.options.filter((op) => op.kind !== "combination");
  }

  get isMarked() {
    return this.parties.size > 0 || this.other !== null;
  }

  marked(option) {
    return option.kind === "party" ? this.parties.has(option.parties[0]) : this.other === option.id;
  }

  /** Whether marking (or unmarking) this option is offered now. */
  offered(option) {
    if (this.marked(option)) return true;
    if (option.kind === "party") {
      if (this.other !== null) return false;
      return this.parties.size === 0 || this.contest.isValidMarkSet([...this.parties, option.parties[0]]);
    }
    return !this.isMarked;
  }

  option(optionId) {
    return this.contest.options[this.contest.optionIndex(optionId)];
  }

  /** Mark or unmark an option. Returns false (and changes nothing) when the mark is not offered. */
  toggle(optionId) {
    const op = this.option(optionId);
    if (op.kind === "combination") throw new TypeError("combination options are reached by party marks");
    if (!this.offered(op)) return false;
    if (op.kind === "party") {
      const party = op.parties[0];
      if (this.parties.has(party)) this.parties.delete(party);
      else this.parties.add(party);
    } else {
      this.other = this.other === op.id ? null : op.id;
    }
    return true;
  }

  clear() {
    this.parties.clear();
    this.other = null;
  }

  /** The option the marks count for, or null when nothing is marked. */
  get result() {
    if (this.parties.size > 0) return this.contest.options[this.contest.optionForMarks([...this.parties])];
    return this.other === null ? null : this.option(this.other);
  }

  /** The coalition (or candidatura común) of the resulting party or combination vote, or null. */
  get coalition() {
    const op = this.result;
    if (op === null || (op.kind !== "party" && op.kind !== "combination")) return null;
    return this.contest.coalitionOf(op.parties[0]);
  }

  /** The option id that is encrypted: the result, or the "null" option when unmarked. */
  get choice() {
    const op = this.result;
    return op === null ? this.contest.options[this.contest.nullOptionIndex].id : op.id;
  }

  /** The write-in name when the write-in option is the vote (for the review screen), else null. */
  get writeIn() {
    const op = this.result;
    return op !== null && op.kind === "write_in" ? this.writeInName.trim() : null;
  }

  /** What stops the review: "write-in-name" when the write-in is marked without a name. */
  get problem() {
    return this.writeIn === "" ? "write-in-name" : null;
  }
}

export class BallotMarks {
  /** manifest: a Manifest of ../js/manifest.js; styleId: the voter's ballot style. */
  constructor(manifest, styleId) {
    this.manifest = manifest;
    this.style = styleId;
    this.contests = manifest.styleContests(styleId).map(([, contest]) => new ContestMarks(contest));
  }

  contest(contestId) {
    const found = this.contests.find((c) => c.contest.id === contestId);
    if (found === undefined) throw new RangeError(`contest ${contestId} is not on this ballot`);
    return found;
  }

  /** {contest id: option id} for every contest of the style, in manifest order. */
  choices() {
    return Object.fromEntries(this.contests.map((c) => [c.contest.id, c.choice]));
  }

  /** The contests whose marks stop the review, with the problem. */
  problems() {
    return this.contests.filter((c) => c.problem !== null).map((c) => ({ contest: c.contest.id, problem: c.problem }));
  }
}
