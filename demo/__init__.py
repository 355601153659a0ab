"""The demo federated graph (three subgraphs and an Apollo gateway) and the local development stack."""
