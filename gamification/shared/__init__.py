"""What every domain's rules share: calendar windows, problems, catalogue checks."""
