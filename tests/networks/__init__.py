"""Small event networks, each with the problems one ``beehive check`` test looks for."""
