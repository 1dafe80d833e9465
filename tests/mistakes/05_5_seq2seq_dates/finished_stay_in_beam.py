# part2_answer: finished hypotheses stay in the beam (eos again at no cost), it never shrinks
def beam_search(step, state, bos, eos, beam_width, max_len, alpha=0.0):
    if beam_width < 1 or max_len < 1:
        raise ValueError("beam_width and max_len must be at least 1")
    beam = [([], 0.0, False)]                        # tokens, sum of log-probabilities, finished
    prev = torch.tensor([bos])
    for _ in range(max_len):
        log_probs, state = step(prev, state)
        candidates = []
        for row, (tokens, total, done) in enumerate(beam):
            if done:
                candidates.append((total, tokens, True, row))
                continue
            for token, value in enumerate(log_probs[row].double().tolist()):
                candidates.append((total + value, tokens + [token], token == eos, row))
        candidates.sort(key=lambda c: -c[0])
        kept = candidates[:beam_width]
        beam = [(tokens, total, done) for total, tokens, done, _ in kept]
        if all(done for _, _, done in beam):
            break
        rows = torch.tensor([row for *_, row in kept])
        state = None if state is None else tuple(s.index_select(1, rows) for s in state)
        prev = torch.tensor([tokens[-1] for tokens, _, _ in beam])
    ranked = [(tokens, total / ((5 + len(tokens)) / 6) ** alpha) for tokens, total, _ in beam]
    return sorted(ranked, key=lambda pair: pair[1], reverse=True)
