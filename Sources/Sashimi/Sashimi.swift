/// Multi-scale S4 (SaShiMi) autoregressive audio model.
