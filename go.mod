module datashare

go 1.26.8
