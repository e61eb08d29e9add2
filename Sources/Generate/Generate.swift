/// Text generation: sampling, stop sequences, streaming and batched requests.
public enum Generate {}
