"""Shell completion for bash, zsh and fish, rendered from the argparse tree (``tree``)."""
