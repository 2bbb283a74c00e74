"""FactorNet (Quang & Xie): model, training, prediction."""
