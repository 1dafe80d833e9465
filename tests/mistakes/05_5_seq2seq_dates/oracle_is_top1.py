# part3_answer: the oracle looks at the best output only, not the whole list
def nbest_accuracy(nbest, truth):
    if len(nbest) != len(truth) or len(truth) == 0:
        raise ValueError(f"expected one n-best list per true date and at least one date, got "
                         f"{len(nbest)} lists for {len(truth)} dates")
    fields = {"year": slice(0, 4), "month": slice(5, 7), "day": slice(8, 10)}
    counts = dict.fromkeys(["exact", "year", "month", "day", "oracle"], 0)
    for outputs, answer in zip(nbest, truth):
        best = outputs[0] if len(outputs) else ""
        counts["exact"] += best == answer
        counts["oracle"] += best == answer
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", best):
            for name, part in fields.items():
                counts[name] += best[part] == answer[part]
    return {name: count / len(truth) for name, count in counts.items()}
