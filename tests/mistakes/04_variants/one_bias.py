# part4_answer: counts one bias vector per gate (PyTorch keeps two, b_ih and b_hh)
def count_parameters(kind, input_size, hidden_size, num_layers, bidirectional):
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        total += directions * gates * hidden_size * (layer_input + hidden_size + 1)
    return total
