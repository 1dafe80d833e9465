# part2_answer: each hypothesis keeps its own best extensions, not the best of all N*V
def beam_search(step, state, bos, eos, beam_width, max_len, alpha=0.0):
    if beam_width < 1 or max_len < 1:
        raise ValueError("beam_width and max_len must be at least 1")
    live, live_scores = [[]], torch.zeros(1, dtype=torch.float64)
    prev = torch.tensor([bos])
    finished = []
    for _ in range(max_len):
        log_probs, state = step(prev, state)
        vocab = log_probs.shape[1]
        keep = beam_width - len(finished)
        share = min(max(1, keep // len(live)), vocab)
        values, tokens = (live_scores[:, None] + log_probs.double()).topk(share, dim=1)
        candidates = sorted(((values[r, j].item(), r, tokens[r, j].item())
                             for r in range(len(live)) for j in range(share)), reverse=True)
        parents, extended, scores = [], [], []
        for total, parent, token in candidates[:keep]:
            if token == eos:
                finished.append((live[parent] + [token], total))
            else:
                parents.append(parent)
                extended.append(live[parent] + [token])
                scores.append(total)
        live, live_scores = extended, torch.tensor(scores, dtype=torch.float64)
        if not live:
            break
        rows = torch.tensor(parents)
        state = None if state is None else tuple(s.index_select(1, rows) for s in state)
        prev = torch.tensor([h[-1] for h in live])
    finished += zip(live, live_scores.tolist())
    ranked = [(tokens, total / ((5 + len(tokens)) / 6) ** alpha) for tokens, total in finished]
    return sorted(ranked, key=lambda pair: pair[1], reverse=True)
