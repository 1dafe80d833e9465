# part2_answer: splits the flat candidate index by the beam width, not by V
def beam_search(step, state, bos, eos, beam_width, max_len, alpha=0.0):
    if beam_width < 1 or max_len < 1:
        raise ValueError("beam_width and max_len must be at least 1")
    live, live_scores = [[]], torch.zeros(1, dtype=torch.float64)
    prev = torch.tensor([bos])
    finished = []
    for _ in range(max_len):
        log_probs, state = step(prev, state)
        candidates = (live_scores[:, None] + log_probs.double()).reshape(-1)
        keep = min(beam_width - len(finished), candidates.numel())
        parents, extended, scores = [], [], []
        for index in torch.topk(candidates, keep).indices.tolist():
            parent, token = index // beam_width, index % beam_width
            if token == eos:
                finished.append((live[parent] + [token], candidates[index].item()))
            else:
                parents.append(parent)
                extended.append(live[parent] + [token])
                scores.append(candidates[index].item())
        live, live_scores = extended, torch.tensor(scores, dtype=torch.float64)
        if not live:
            break
        rows = torch.tensor(parents)
        state = None if state is None else tuple(s.index_select(1, rows) for s in state)
        prev = torch.tensor([h[-1] for h in live])
    finished += zip(live, live_scores.tolist())
    ranked = [(tokens, total / ((5 + len(tokens)) / 6) ** alpha) for tokens, total in finished]
    return sorted(ranked, key=lambda pair: pair[1], reverse=True)
