"""A small shop on beehive: the application the Azure Container Apps how-to deploys."""
