module.exports = { available: false };
