// JavaScript (async by default)
async function fetchData() {
    const response = await fetch('https://api.example.com/data');
    const data = await response.json();
    return data;
}

// Just call it - event loop always runs
fetchData().then(data => console.log(data));
